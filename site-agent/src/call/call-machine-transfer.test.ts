// Blind transfer as event sequences (docs/transfer.md): the talking call's REFER and the agent's
// wrap-up, in order; the caller's new INVITE queued here or relayed to the target site; its
// service-level wait from the transfer, its arrival the caller's first.
import { CallParty, CustomerTier, SIP_HEADERS } from '@ccfed/proto';
import { parseTopology, siteById } from '@ccfed/topology';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CallContext } from '../call-context.js';
import {
  arrive,
  arriveToTransfer,
  newCall,
  step,
  type CallEffect,
  type CallState,
} from './call-machine.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const TOPOLOGY = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
const T0 = Date.parse('2026-11-22T02:00:00Z');
const KEY = Buffer.alloc(32, 7);

const CONTEXT: CallContext = {
  tenantId: 'acme-bank',
  skill: 'support',
  requestedSkill: '',
  tier: CustomerTier.CUSTOMER_TIER_GOLD,
  customerId: 'cust-1',
  arrivalMs: T0,
  originSite: '',
  hops: 0,
  decisionId: '',
  traceparent: '',
  problems: [],
};

function fresh(context: CallContext = CONTEXT, record = false): CallState {
  return newCall({
    record,
    callId: 'c1',
    context,
    callerHash: 'hash-1',
    dialedNumber: '400100200',
    fromTag: 'caller-tag',
    cseq: 7,
    transaction: { tindex: 1, tlabel: 2, tsS: 100, tsU: 5 },
    serviceLevel: { thresholdMs: 20_000, shortAbandonMs: 5_000 },
    acceptsRefer: true,
    media: {
      language: 'en',
      ringback: 'tones/ringback-cn',
      ringbackMs: 5_000,
      announceEveryMs: 30_000,
    },
  });
}

/** A call sh-002 answered 10 s after it arrived. */
function talking(record = false): CallState {
  let s = fresh(CONTEXT, record);
  s = step(
    s,
    { type: 'assigned', agentId: 'sh-002', uri: 'sip:sh-002@127.0.0.1' },
    T0 + 9_000,
    'shanghai',
  ).state;
  return step(s, { type: 'answered', agentTag: 'agent-tag' }, T0 + 10_000, 'shanghai').state;
}

const kinds = (effects: readonly CallEffect[]) =>
  effects.map((e) =>
    e.type === 'publish'
      ? `publish ${e.kind.$case}`
      : e.type === 'kamailio'
        ? `kamailio ${e.command.action}`
        : e.type === 'transition'
          ? `${e.leg} ${e.from}→${e.to}`
          : e.type === 'acd' || e.type === 'recording'
            ? `${e.type} ${e.op}`
            : e.type === 'leave'
              ? `leave ${e.outcome}`
              : e.type,
  );

const TRANSFER = {
  type: 'transfer',
  targetSiteId: 'beijing',
  skill: 'sales',
  referTo: 'sip:400100200@127.0.0.1:5060;ccxfer=t',
  by: 'agent:shanghai/sh-002',
} as const;

describe('transfer of a talking call', () => {
  it('refers the caller, releases the agent to wrap-up, and says where the call went', () => {
    const next = step(talking(true), TRANSFER, T0 + 70_000, 'shanghai');
    expect(kinds(next.effects)).toEqual([
      'kamailio transfer',
      'agent confirmed→terminated',
      'caller confirmed→terminated',
      'recording stop',
      'leave transferred',
      'publish transferred',
      'publish ended',
      'acd hang_up',
      'log',
    ]);
    expect(next.effects[0]).toEqual({
      type: 'kamailio',
      command: {
        action: 'transfer',
        callid: 'c1',
        fromTag: 'caller-tag',
        toTag: 'agent-tag',
        uri: 'sip:400100200@127.0.0.1:5060;ccxfer=t',
      },
    });
    const transferred = next.effects.find(
      (e) => e.type === 'publish' && e.kind.$case === 'transferred',
    );
    expect(transferred).toMatchObject({
      kind: {
        value: {
          fromAgentId: 'sh-002',
          to: 'sales@beijing',
          blind: true,
          targetSiteId: 'beijing',
          targetSkill: 'sales',
          by: 'agent:shanghai/sh-002',
        },
      },
    });
    expect(
      next.effects.find((e) => e.type === 'publish' && e.kind.$case === 'ended'),
    ).toMatchObject({
      kind: { value: { agentId: 'sh-002', talkMs: 60_000, endedBy: CallParty.CALL_PARTY_AGENT } },
    });
    expect(next.state.phase).toEqual({ name: 'wrap_up', agentId: 'sh-002', sinceMs: T0 + 70_000 });
    // The old dialog's end, which Kamailio reports later, changes nothing; wrap-up ends as usual.
    const ended = step(next.state, { type: 'ended', by: 'callee' }, T0 + 70_100, 'shanghai');
    expect(ended.effects).toEqual([]);
    const done = step(next.state, { type: 'wrap_up_done' }, T0 + 90_000, 'shanghai');
    expect(kinds(done.effects)).toEqual(['publish wrapUpDone']);
  });

  it('is refused unless the call is talking (ringing, queued, a second transfer)', () => {
    let s = fresh();
    expect(step(s, TRANSFER, T0 + 1_000, 'shanghai').effects).toEqual([]);
    s = step(
      s,
      { type: 'assigned', agentId: 'sh-002', uri: 'sip:x@127.0.0.1' },
      T0,
      'shanghai',
    ).state;
    expect(step(s, TRANSFER, T0 + 1_000, 'shanghai').effects).toEqual([]);
    // A caller whose phone does not take REFER would be dropped by it: the call stays.
    expect(
      step({ ...talking(), acceptsRefer: false }, TRANSFER, T0 + 20_000, 'shanghai').effects,
    ).toEqual([]);
    const once = step(talking(), TRANSFER, T0 + 20_000, 'shanghai').state;
    expect(step(once, TRANSFER, T0 + 21_000, 'shanghai').effects).toEqual([]);
  });
});

describe('the transferred call’s new INVITE', () => {
  const transferred: CallContext = {
    ...CONTEXT,
    skill: 'sales',
    transfer: { fromCallId: 'c0', fromSiteId: 'shanghai', atMs: T0 + 70_000 },
  };

  it('queued here: offered and transferred in, its service-level wait from the transfer', () => {
    const s = fresh(transferred);
    const first = arrive(s);
    expect(kinds(first.effects)).toEqual([
      'caller none→trying',
      'day_stats',
      'publish offered',
      'publish transferredIn',
      'acd offer',
    ]);
    expect(first.effects[2]).toMatchObject({
      kind: { value: { skill: 'sales', customerId: 'cust-1', arrivalTime: new Date(T0) } },
    });
    expect(first.effects[3]).toMatchObject({
      kind: {
        value: { fromCallId: 'c0', fromSiteId: 'shanghai', transferredAt: new Date(T0 + 70_000) },
      },
    });
    let state = step(
      first.state,
      { type: 'assigned', agentId: 'sh-004', uri: 'sip:x@h' },
      T0 + 75_000,
      'shanghai',
    ).state;
    const answered = step(state, { type: 'answered', agentTag: 'b' }, T0 + 76_000, 'shanghai');
    expect(answered.effects).toContainEqual({ type: 'day_stats', op: 'answered', waitedMs: 6_000 });
    expect(
      answered.effects.find((e) => e.type === 'publish' && e.kind.$case === 'answered'),
    ).toMatchObject({ kind: { value: { waitMs: 6_000 } } });
    state = answered.state;
    expect(state.phase).toMatchObject({ name: 'talking', agentTag: 'b', waitedMs: 6_000 });
  });

  it('an abandon while queued after a transfer counts its wait from the transfer too', () => {
    const s = step(arrive(fresh(transferred)).state, { type: 'cancel' }, T0 + 80_000, 'shanghai');
    expect(
      s.effects.find((e) => e.type === 'publish' && e.kind.$case === 'abandoned'),
    ).toMatchObject({ kind: { value: { waitMs: 10_000, byCaller: true } } });
  });

  it('for another site: early media here, relayed there at once with signed transfer headers', () => {
    const s = fresh(transferred);
    const first = arriveToTransfer(s, {
      target: siteById(TOPOLOGY, 'beijing'),
      topology: TOPOLOGY,
      siteId: 'shanghai',
      signingKey: KEY,
      nowMs: T0 + 70_500,
    });
    expect(kinds(first.effects)).toEqual([
      'caller none→trying',
      'kamailio provisional',
      'caller trying→early',
      'kamailio relay',
      'peer none→trying',
      'log',
    ]);
    const relay = first.effects[3]!;
    if (relay.type !== 'kamailio' || relay.command.action !== 'relay') throw new Error('no relay');
    expect(relay.command.peer).toBe('beijing');
    expect(relay.command.hdrs).toContain(`${SIP_HEADERS.transferredAt}: ${T0 + 70_000}\r\n`);
    expect(relay.command.hdrs).toContain(`${SIP_HEADERS.transferredFrom}: c0\r\n`);
    expect(relay.command.hdrs).toContain(`${SIP_HEADERS.arrival}: ${T0}\r\n`);
    expect(relay.command.hdrs).toContain(`${SIP_HEADERS.signature}: v1;`);
    // Nothing is booked here: not offered, not overflowed; the target books the call.
    expect(first.effects.some((e) => e.type === 'publish' || e.type === 'acd')).toBe(false);
    const answered = step(first.state, { type: 'answered' }, T0 + 80_000, 'shanghai');
    expect(kinds(answered.effects)).toEqual(['peer trying→confirmed', 'leave overflowed']);
  });
});
