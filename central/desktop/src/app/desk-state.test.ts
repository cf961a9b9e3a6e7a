import { describe, expect, it } from 'vitest';
import { clock, deskReducer, INITIAL_DESK, type DeskEvent, type Offer } from './desk-state.js';

const offer = (callId: string): Offer => ({
  callId,
  offeredAt: '2026-12-07T10:00:00.000Z',
  skill: 'billing',
  story: {
    customer: { customerId: 'c-1', tier: 'gold' },
    recentContacts: [],
    churn: null,
    nextBestOffer: null,
    csatHistory: [],
    overflow: null,
  },
});

const run = (...events: DeskEvent[]) => events.reduce(deskReducer, INITIAL_DESK);

describe('the agent desk', () => {
  it('keeps the story on screen through the call and its wrap-up, until the next offer', () => {
    const desk = run(
      { type: 'offer', offer: offer('a') },
      { type: 'ringing', callId: 'a' },
      { type: 'answered', callId: 'a' },
      { type: 'state', status: { state: 'on_call', sinceMs: 1, callId: 'a' } },
      { type: 'state', status: { state: 'wrap_up', sinceMs: 2, callId: 'a' } },
    );
    expect(desk.offer?.callId).toBe('a');
    expect(desk.wrapUp).toEqual({ callId: 'a', sinceMs: 2 });
    // The caller hung up: the site put the agent in wrap-up, the phone's call is over.
    expect(desk.phone).toBeNull();
    expect(deskReducer(desk, { type: 'offer', offer: offer('b') }).offer?.callId).toBe('b');
  });

  it('asks for the wrap-up until it is sent or the site ends it', () => {
    const inWrapUp = run({ type: 'state', status: { state: 'wrap_up', sinceMs: 5, callId: 'a' } });
    expect(deskReducer(inWrapUp, { type: 'wrapped_up', callId: 'a' }).wrapUp).toBeNull();
    // A wrap-up sent for another call changes nothing.
    expect(deskReducer(inWrapUp, { type: 'wrapped_up', callId: 'z' }).wrapUp).not.toBeNull();
    // The skill's wrap-up time ran out: the site made the agent ready.
    expect(
      deskReducer(inWrapUp, { type: 'state', status: { state: 'ready', sinceMs: 9 } }).wrapUp,
    ).toBeNull();
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
