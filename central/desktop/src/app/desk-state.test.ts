import { describe, expect, it } from 'vitest';
import {
  clock,
  deskReducer,
  INITIAL_DESK,
  type AgentStatus,
  type DeskEvent,
  type Offer,
} from './desk-state.js';

const offer = (callId: string): Offer => ({
  callId,
  siteId: 'beijing',
  skill: 'billing',
  offeredAt: '2026-12-07T10:00:00.000Z',
  waitedMs: 1200,
  customer: { id: 'c-1', tier: 'gold' },
  story: null,
  nextBestOffer: null,
  overflow: null,
});
const at = (s: number) => new Date(s * 1000).toISOString();
const status = (state: AgentStatus['state'], s: number, callId: string | null = null) => ({
  type: 'state' as const,
  status: { state, reasonCode: null, callId, since: at(s) },
});

const run = (...events: DeskEvent[]) => events.reduce(deskReducer, INITIAL_DESK);

describe('the agent desk', () => {
  it('keeps the story on screen through the call and its wrap-up, until the next offer', () => {
    const desk = run(
      { type: 'offer', offer: offer('a') },
      { type: 'ringing', callId: 'a' },
      { type: 'answered', callId: 'a' },
      status('on_call', 1, 'a'),
      status('wrap_up', 2, 'a'),
    );
    expect(desk.offer?.callId).toBe('a');
    expect(desk.wrapUp).toEqual({ callId: 'a', sinceMs: 2000 });
    // The caller hung up: the site put the agent in wrap-up, the phone's call is over.
    expect(desk.phone).toBeNull();
    expect(deskReducer(desk, { type: 'offer', offer: offer('b') }).offer?.callId).toBe('b');
  });

  it('asks for the wrap-up until it is sent or the site ends it', () => {
    const inWrapUp = run(status('wrap_up', 5, 'a'));
    expect(deskReducer(inWrapUp, { type: 'wrapped_up', callId: 'a' }).wrapUp).toBeNull();
    // A wrap-up sent for another call changes nothing.
    expect(deskReducer(inWrapUp, { type: 'wrapped_up', callId: 'z' }).wrapUp).not.toBeNull();
    // The skill's wrap-up time ran out: the site made the agent ready.
    expect(deskReducer(inWrapUp, status('ready', 9)).wrapUp).toBeNull();
  });

  it('holds and mutes only a call in progress', () => {
    expect(run({ type: 'held', held: true }).phone).toBeNull();
    const talking = run({ type: 'ringing', callId: 'a' }, { type: 'answered', callId: 'a' });
    expect(deskReducer(talking, { type: 'held', held: true }).phone).toMatchObject({
      held: true,
      muted: false,
    });
    expect(deskReducer(talking, { type: 'muted', muted: true }).phone).toMatchObject({
      muted: true,
    });
  });

  it('shows time in state as m:ss, and h:mm:ss past the hour', () => {
    expect(clock(65_000)).toBe('1:05');
    expect(clock(3_725_000)).toBe('1:02:05');
    expect(clock(-5)).toBe('0:00');
  });
});
