// A call's life as event sequences: each row feeds one input and states the exact, ordered
// effects it must produce (transitions, SIP commands, ACD requests, events).
import { CallParty, ComplaintSeverity, CustomerTier } from '@ccfed/proto';
import { parseTopology, siteById, type Site } from '@ccfed/topology';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CallContext } from '../call-context.js';
import {
  arrive,
  newCall,
  step,
  type CallEffect,
  type CallInput,
  type CallState,
} from './call-machine.js';
import type { QueueMediaSettings } from './queue-media.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const T0 = Date.parse('2026-11-22T02:00:00Z');
const SITE = 'beijing';

const CONTEXT: CallContext = {
  tenantId: 'acme-bank',
  skill: 'sales',
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

const TOPOLOGY = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
const GUANGZHOU: Site = siteById(TOPOLOGY, 'guangzhou');
const KEY = Buffer.alloc(32, 7);
/** Ringback for one 5 s period, then the announcement, every 30 s from entry. */
const MEDIA: QueueMediaSettings = {
  language: 'en',
  ringback: 'tones/ringback-cn',
  ringbackMs: 5_000,
  announceEveryMs: 30_000,
};
const moveTo = (target: Site, decisionId: string): CallInput => ({
  type: 'move_out',
  target,
  decisionId,
  topology: TOPOLOGY,
  signingKey: KEY,
});

function fresh(context: CallContext = CONTEXT, record = false): CallState {
  return newCall({
    record,
    callId: 'c1',
    context,
    callerHash: 'hash-1',
    dialedNumber: '400200100',
    fromTag: 'caller-tag',
    cseq: 7,
    transaction: { tindex: 1, tlabel: 2, tsS: 100, tsU: 5 },
    serviceLevel: { thresholdMs: 20_000, shortAbandonMs: 5_000 },
    media: MEDIA,
  });
}

/** Feeds inputs at the given offsets from T0; returns the last step and every effect in order. */
function run(
  state: CallState,
  rows: readonly (readonly [atMs: number, input: CallInput])[],
): { state: CallState; effects: CallEffect[][] } {
  const effects: CallEffect[][] = [];
  for (const [at, input] of rows) {
    const next = step(state, input, T0 + at, SITE);
    state = next.state;
    effects.push([...next.effects]);
  }
  return { state, effects };
}

/** A compact view of effects: what a reader checks at a glance. */
function brief(effects: readonly CallEffect[]): string[] {
  return effects.map((e) => {
    switch (e.type) {
      case 'transition':
        return `${e.leg}: ${e.from} -> ${e.to}`;
      case 'kamailio':
        return `kamailio ${e.command.action}${'code' in e.command ? ` ${e.command.code}` : ''}${'uri' in e.command ? ` ${e.command.uri}` : ''}`;
      case 'publish':
        return `publish ${e.kind.$case}`;
      case 'acd':
        return `acd ${e.op}`;
      case 'day_stats':
        return `day_stats ${e.op}`;
      case 'log':
        return `log ${e.event}`;
      case 'leave':
        return `leave ${e.outcome}`;
      case 'recording':
        return `recording ${e.op}`;
      case 'callback':
        return `callback ${e.op}`;
      case 'media':
        return e.action.op === 'play'
          ? `media play ${e.action.id} ${e.action.prompt.kind}`
          : `media stop ${e.action.id}`;
      case 'start_timer':
        return `start_timer ${e.id} ${e.afterMs}`;
      case 'cancel_timer':
        return `cancel_timer ${e.id}`;
    }
  });
}

const queuedAndRinging = (): CallState =>
  run(fresh(), [
    [0, { type: 'queued', position: 1, expectedWaitMs: 30_000 }],
    [12_000, { type: 'assigned', agentId: 'bj-001', uri: 'sip:bj-001@127.0.0.1:6001' }],
  ]).state;

describe('a call answered at this site', () => {
  it('arrives, queues, rings, is answered, hangs up and wraps up, each step with its exact effects', () => {
    const arrival = arrive(fresh());
    expect(brief(arrival.effects)).toEqual([
      'caller: none -> trying',
      'day_stats offered',
      'publish offered',
      'acd offer',
    ]);
    const { state, effects } = run(arrival.state, [
      [0, { type: 'queued', position: 2, expectedWaitMs: 40_000 }],
      [15_000, { type: 'assigned', agentId: 'bj-001', uri: 'sip:bj-001@127.0.0.1:6001' }],
      [18_000, { type: 'answered' }],
      [78_000, { type: 'ended', by: 'caller' }],
      [83_000, { type: 'wrap_up_done' }],
    ]);
    expect(effects.map(brief)).toEqual([
      [
        'kamailio provisional 182',
        'caller: trying -> early',
        'publish queued',
        // early media from the moment it queues; the first announcement falls due in 30 s
        'media play p1 ringback',
        'start_timer t2 30000',
      ],
      [
        'kamailio relay sip:bj-001@127.0.0.1:6001',
        'agent: none -> trying',
        // no announcement while the agent's phone rings
        'cancel_timer t2',
        'log call_assigned',
      ],
      [
        'agent: trying -> confirmed',
        'caller: early -> confirmed',
        'media stop s3',
        'acd answered',
        'day_stats answered',
        'publish answered',
      ],
      [
        'agent: confirmed -> terminated',
        'caller: confirmed -> terminated',
        'leave answered',
        'publish ended',
        'acd hang_up',
      ],
      ['publish wrapUpDone'],
    ]);
    expect(state.phase).toEqual({ name: 'done' });
    const published = effects.flat().filter((e) => e.type === 'publish');
    expect(published.map((e) => e.kind)).toEqual([
      {
        $case: 'queued',
        value: { skill: 'sales', position: 2, expectedWaitMs: 40_000 },
      },
      {
        $case: 'answered',
        value: {
          agentId: 'bj-001',
          skill: 'sales',
          waitMs: 18_000,
          serviceLevelThresholdMs: 20_000,
        },
      },
      {
        $case: 'ended',
        value: {
          agentId: 'bj-001',
          talkMs: 60_000,
          holdMs: 0,
          endedBy: CallParty.CALL_PARTY_CALLER,
        },
      },
      {
        $case: 'wrapUpDone',
        value: {
          agentId: 'bj-001',
          wrapUpMs: 5_000,
          disposition: '',
          recordedByAgent: false,
          resolvedFirstContact: false,
          complaintSeverity: ComplaintSeverity.COMPLAINT_SEVERITY_UNSPECIFIED,
          note: '',
        },
      },
    ]);
  });

  it('ended by Kamailio when the other site of the call went silent: the agent is freed, the event says so', () => {
    const { state, effects } = run(queuedAndRinging(), [
      [15_000, { type: 'answered' }],
      [95_000, { type: 'ended', by: 'peer_silent' }],
    ]);
    expect(brief(effects[1]!)).toEqual([
      'agent: confirmed -> terminated',
      'caller: confirmed -> terminated',
      'leave answered',
      'publish ended',
      'acd hang_up',
      'log call_peer_site_lost',
    ]);
    expect(state.phase).toMatchObject({ name: 'wrap_up', agentId: 'bj-001' });
    const ended = effects[1]!.find((e) => e.type === 'publish')!;
    expect(ended.kind).toEqual({
      $case: 'ended',
      value: {
        agentId: 'bj-001',
        talkMs: 80_000,
        holdMs: 0,
        endedBy: CallParty.CALL_PARTY_PEER_SITE_LOST,
      },
    });
  });

  it('ends the wrap-up with what its agent recorded, once, and nobody else’s record', () => {
    const record = {
      disposition: 'escalated',
      resolvedFirstContact: false,
      complaintSeverity: ComplaintSeverity.COMPLAINT_SEVERITY_MAJOR,
      note: 'third complaint about the fee',
    };
    const { state, effects } = run(queuedAndRinging(), [
      [18_000, { type: 'answered' }],
      [78_000, { type: 'ended', by: 'callee' }],
      // another agent's submission for this call changes nothing
      [79_000, { type: 'wrap_up_recorded', agentId: 'bj-002', record: { ...record, note: 'x' } }],
      [80_000, { type: 'wrap_up_recorded', agentId: 'bj-001', record }],
      // a second submission does not rewrite the first
      [80_500, { type: 'wrap_up_recorded', agentId: 'bj-001', record: { ...record, note: 'y' } }],
      [81_000, { type: 'wrap_up_done' }],
    ]);
    expect(effects.slice(2, 5)).toEqual([[], [], []]);
    expect(state.phase).toEqual({ name: 'done' });
    expect(effects[5]).toEqual([
      {
        type: 'publish',
        kind: {
          $case: 'wrapUpDone',
          value: { agentId: 'bj-001', wrapUpMs: 3_000, recordedByAgent: true, ...record },
        },
      },
    ]);
  });

  it('relays the suspended INVITE under the transaction Kamailio gave it', () => {
    const { effects } = run(fresh(), [
      [0, { type: 'assigned', agentId: 'bj-001', uri: 'sip:bj-001@127.0.0.1:6001' }],
    ]);
    expect(effects[0]![0]).toEqual({
      type: 'kamailio',
      command: {
        action: 'relay',
        tindex: 1,
        tlabel: 2,
        tsS: 100,
        tsU: 5,
        callid: 'c1',
        agent: 'bj-001',
        uri: 'sip:bj-001@127.0.0.1:6001',
      },
    });
  });
});

describe('a call that does not reach an agent', () => {
  it('abandoned while queued: the ACD lets go, the day counts it, the event says by whom and how long', () => {
    const { state, effects } = run(fresh(), [
      [0, { type: 'queued', position: 1, expectedWaitMs: 30_000 }],
      [9_000, { type: 'cancel' }],
    ]);
    expect(brief(effects[1]!)).toEqual([
      'caller: early -> terminated',
      'cancel_timer t2',
      'leave abandoned',
      'acd abandon',
      'day_stats abandoned',
      'publish abandoned',
    ]);
    expect(effects[1]!.at(-1)).toMatchObject({
      kind: { $case: 'abandoned', value: { waitMs: 9_000, byCaller: true, shortAbandonMs: 5_000 } },
    });
    expect(state.phase).toEqual({ name: 'done' });
  });

  it('CANCEL while ringing waits for the dialog to settle; a failure then is the caller abandoning', () => {
    const { effects } = run(queuedAndRinging(), [
      [13_000, { type: 'cancel' }],
      [13_100, { type: 'failed', code: 487 }],
    ]);
    expect(effects[0]).toEqual([]);
    expect(brief(effects[1]!)).toEqual([
      'log call_failed',
      'agent: trying -> terminated',
      'caller: early -> terminated',
      'leave abandoned',
      'acd abandon',
      'day_stats abandoned',
      'publish abandoned',
    ]);
    expect(effects[1]!.at(-1)).toMatchObject({ kind: { value: { byCaller: true } } });
  });

  it('CANCEL while ringing that crosses the agent answering: the call goes on', () => {
    const { state, effects } = run(queuedAndRinging(), [
      [13_000, { type: 'cancel' }],
      [13_050, { type: 'answered' }],
    ]);
    expect(brief(effects[1]!)).toContain('publish answered');
    expect(state.phase.name).toBe('talking');
  });

  it('ring-no-answer: the agent leg ends, the ACD puts the call back, under the new transaction', () => {
    const { state, effects } = run(queuedAndRinging(), [
      [32_000, { type: 'branch_failed', code: 408, requeued: { tindex: 9, tlabel: 10 } }],
      [32_000, { type: 'queued', position: 1, expectedWaitMs: 20_000 }],
    ]);
    expect(brief(effects[0]!)).toEqual([
      'agent: trying -> terminated',
      'log agent_no_answer',
      'acd ring_failed',
    ]);
    expect(state.transaction).toMatchObject({ tindex: 9, tlabel: 10 });
    expect(effects[1]![0]).toMatchObject({
      type: 'kamailio',
      command: { action: 'provisional', tindex: 9, tlabel: 10, code: 182 },
    });
  });

  it('ring-no-answer that Kamailio could not suspend again: the caller got the failure', () => {
    const { state, effects } = run(queuedAndRinging(), [
      [32_000, { type: 'branch_failed', code: 408 }],
    ]);
    expect(brief(effects[0]!)).toEqual([
      'agent: trying -> terminated',
      'log agent_no_answer',
      'acd ring_failed',
      'caller: early -> terminated',
      'leave abandoned',
      'acd abandon',
      'day_stats abandoned',
      'publish abandoned',
    ]);
    expect(state.phase.name).toBe('done');
  });

  it('the evapi link drops: a queued call is gone to the fallback, a ringing one goes on', () => {
    const queued = run(fresh(), [
      [0, { type: 'queued', position: 1, expectedWaitMs: 30_000 }],
      [5_000, { type: 'link_lost' }],
    ]);
    expect(brief(queued.effects[1]!)).toContain('publish abandoned');
    expect(queued.effects[1]!.at(-1)).toMatchObject({ kind: { value: { byCaller: false } } });
    const ringing = run(queuedAndRinging(), [[13_000, { type: 'link_lost' }]]);
    expect(ringing.effects[0]).toEqual([]);
  });
});

describe('a call overflowed to another site', () => {
  const moved = () =>
    run(fresh(), [
      [0, { type: 'queued', position: 3, expectedWaitMs: 90_000 }],
      [16_000, moveTo(GUANGZHOU, 'd-1')],
    ]);

  it('leaves the queue and is relayed over the TLS link with its context signed in X-CC-* headers', () => {
    const { state, effects } = moved();
    expect(brief(effects[1]!)).toEqual([
      'acd withdraw',
      'cancel_timer t2',
      'kamailio relay sip:400200100@127.0.0.1:5081;transport=tls',
      'peer: none -> trying',
      'publish overflowedOut',
      'log call_overflowed_out',
    ]);
    const relay = effects[1]!.find((e) => e.type === 'kamailio') as Extract<
      CallEffect,
      { type: 'kamailio' }
    >;
    // The branch times out after the topology's peer silence without a provisional reply.
    expect(relay.command).toMatchObject({ agent: 'overflow:guangzhou', ringMs: 30_000 });
    const hdrs = 'hdrs' in relay.command ? relay.command.hdrs : '';
    expect(hdrs).toContain('X-CC-Origin-Site: beijing');
    expect(hdrs).toMatch(new RegExp(`X-CC-Signature: v1;t=${T0 + 16_000};s=[A-Za-z0-9_-]+`));
    expect(state.phase).toEqual({
      name: 'overflowing',
      targetSiteId: 'guangzhou',
      decisionId: 'd-1',
    });
  });

  it('refused by the target: back to its place here, and never moved again', () => {
    const { state, effects } = run(moved().state, [
      [16_200, { type: 'branch_failed', code: 486, requeued: { tindex: 3, tlabel: 4 } }],
    ]);
    expect(brief(effects[0]!)).toEqual([
      'peer: trying -> terminated',
      'publish overflowRejected',
      'acd offer',
    ]);
    expect(state.overflowTried).toBe(true);
    expect(state.phase.name).toBe('queued');
    expect(run(state, [[20_000, moveTo(GUANGZHOU, 'd-2')]]).effects[0]).toContainEqual(
      expect.objectContaining({ type: 'acd', op: 'withdraw' }),
    );
  });

  it('answered there: it leaves this site, which records nothing more of it', () => {
    const { state, effects } = run(moved().state, [[17_000, { type: 'answered' }]]);
    expect(brief(effects[0]!)).toEqual(['peer: trying -> confirmed', 'leave overflowed']);
    expect(state.phase.name).toBe('done');
  });

  it('abandoned while on its way: recorded by the target, not here', () => {
    const { effects } = run(moved().state, [[16_100, { type: 'cancel' }]]);
    expect(brief(effects[0]!)).toEqual(['peer: trying -> terminated', 'leave overflowed']);
  });
});

describe('a call another site sent here', () => {
  /** Arrived from guangzhou's Kamailio: refreshed there every 5 s while it queues here. */
  const fromPeer = () =>
    newCall({
      ...fresh({ ...CONTEXT, originSite: 'guangzhou', hops: 1 }),
      serviceLevel: { thresholdMs: 20_000, shortAbandonMs: 5_000 },
      transaction: { tindex: 1, tlabel: 2, tsS: 100, tsU: 5 },
      media: MEDIA,
      peerProgressMs: 5_000,
    });
  const refreshes = (effects: readonly CallEffect[]) =>
    brief(effects).filter((e) => e.includes('peer-progress') || e === 'kamailio provisional 100');

  it('tells the origin it still has the call with 100 Queued while it queues, and not while an agent rings', () => {
    const { effects } = run(arrive(fromPeer()).state, [
      [0, { type: 'queued', position: 2, expectedWaitMs: 40_000 }],
      [5_000, { type: 'timer', id: 'peer-progress' }],
      [10_000, { type: 'timer', id: 'peer-progress' }],
      [12_000, { type: 'assigned', agentId: 'bj-001', uri: 'sip:bj-001@127.0.0.1:6001' }],
      [15_000, { type: 'timer', id: 'peer-progress' }],
      // The agent did not answer: queued again, refreshed again.
      [32_000, { type: 'branch_failed', code: 408, requeued: { tindex: 5, tlabel: 6 } }],
      [32_000, { type: 'queued', position: 1, expectedWaitMs: 10_000 }],
      [37_000, { type: 'timer', id: 'peer-progress' }],
      [37_500, { type: 'assigned', agentId: 'bj-002', uri: 'sip:bj-002@127.0.0.1:6002' }],
      [38_000, { type: 'answered' }],
      [42_000, { type: 'timer', id: 'peer-progress' }],
    ]);
    expect(effects.map(refreshes)).toEqual([
      ['start_timer peer-progress 5000'],
      ['kamailio provisional 100', 'start_timer peer-progress 5000'],
      ['kamailio provisional 100', 'start_timer peer-progress 5000'],
      [],
      [],
      [],
      ['start_timer peer-progress 5000'],
      ['kamailio provisional 100', 'start_timer peer-progress 5000'],
      [],
      [],
      [],
    ]);
    // The refresh goes to the INVITE's current transaction (renewed when it was suspended again).
    const refresh = run(arrive(fromPeer()).state, [
      [0, { type: 'queued', position: 2, expectedWaitMs: 40_000 }],
      [5_000, { type: 'timer', id: 'peer-progress' }],
    ]).effects[1]!.find((e) => e.type === 'kamailio');
    expect(refresh).toMatchObject({
      command: { action: 'provisional', callid: 'c1', cseq: 7, tindex: 1, tlabel: 2, code: 100 },
    });
  });

  it('refreshes again after a site agent restart took the queued call up', () => {
    const { effects } = run(arrive(fromPeer()).state, [
      [0, { type: 'queued', position: 2, expectedWaitMs: 40_000 }],
      [3_000, { type: 'resumed' }],
      [8_000, { type: 'timer', id: 'peer-progress' }],
    ]);
    expect(effects.slice(1).map(refreshes)).toEqual([
      ['start_timer peer-progress 5000'],
      ['kamailio provisional 100', 'start_timer peer-progress 5000'],
    ]);
  });

  it('a call that arrived here first is never refreshed', () => {
    const { effects } = run(arrive(fresh()).state, [
      [0, { type: 'queued', position: 2, expectedWaitMs: 40_000 }],
      [5_000, { type: 'timer', id: 'peer-progress' }],
    ]);
    expect(effects.flatMap(refreshes)).toEqual([]);
  });
});

describe('a call the policy records', () => {
  const talking = () =>
    run(fresh(CONTEXT, true), [
      [0, { type: 'queued', position: 1, expectedWaitMs: 30_000 }],
      [12_000, { type: 'assigned', agentId: 'bj-001', uri: 'sip:bj-001@127.0.0.1:6001' }],
      [14_000, { type: 'answered' }],
    ]);

  it('is recorded from the agent’s answer to the hang-up, paused and resumed in between', () => {
    const answered = talking();
    expect(brief(answered.effects[2]!)).toEqual([
      'agent: trying -> confirmed',
      'caller: early -> confirmed',
      'recording start',
      // the queue's prompt, stopped by Kamailio with the 200 already: nothing may follow it
      'media stop s3',
      'acd answered',
      'day_stats answered',
      'publish answered',
    ]);
    expect(answered.effects[2]![2]).toEqual({ type: 'recording', op: 'start', agentId: 'bj-001' });
    const by = 'agent:beijing/bj-001';
    const { state, effects } = run(answered.state, [
      [30_000, { type: 'pause_recording', by }],
      [31_000, { type: 'pause_recording', by: 'supervisor:beijing' }],
      [45_000, { type: 'resume_recording', by }],
      [46_000, { type: 'resume_recording', by }],
      [60_000, { type: 'ended', by: 'caller' }],
    ]);
    expect(effects).toEqual([
      [{ type: 'recording', op: 'pause', by }],
      // A second pause or resume changes nothing: the first one's holds.
      [],
      [{ type: 'recording', op: 'resume', by }],
      [],
      expect.arrayContaining([{ type: 'recording', op: 'stop', reason: 'hang_up' }]),
    ]);
    expect(brief(effects[4]!).slice(0, 3)).toEqual([
      'agent: confirmed -> terminated',
      'caller: confirmed -> terminated',
      'recording stop',
    ]);
    expect(state.recording).toEqual({ state: 'stopped' });
  });

  it('hung up while paused: the recording stops, the pause running to the end', () => {
    const { effects } = run(talking().state, [
      [30_000, { type: 'pause_recording', by: 'supervisor:beijing' }],
      [40_000, { type: 'ended', by: 'callee' }],
    ]);
    expect(brief(effects[1]!)).toContain('recording stop');
  });

  it('keeps what was recorded when the site agent stops mid-call', () => {
    const { effects } = run(talking().state, [[20_000, { type: 'stop' }]]);
    expect(effects[0]).toEqual([
      { type: 'recording', op: 'stop', reason: 'site_agent_stopped' },
      { type: 'leave', outcome: 'site_agent_stopped' },
    ]);
  });

  it('is never recorded at the origin when it overflows: the answering site records it', () => {
    const { effects } = run(fresh(CONTEXT, true), [
      [0, { type: 'queued', position: 3, expectedWaitMs: 90_000 }],
      [16_000, moveTo(GUANGZHOU, 'd-1')],
      [17_000, { type: 'answered' }],
    ]);
    expect(effects.flat().filter((e) => e.type === 'recording')).toEqual([]);
    // At the target, the same call (overflowed in) is recorded from its agent's answer.
    const there = run(fresh({ ...CONTEXT, originSite: 'beijing', hops: 1 }, true), [
      [0, { type: 'assigned', agentId: 'gz-001', uri: 'sip:gz-001@127.0.0.1:7001' }],
      [3_000, { type: 'answered' }],
    ]);
    expect(there.effects[1]).toContainEqual({ type: 'recording', op: 'start', agentId: 'gz-001' });
  });

  it('is not recorded, nor pausable, when the policy does not record it', () => {
    const { state, effects } = run(fresh(), [
      [0, { type: 'assigned', agentId: 'bj-001', uri: 'sip:bj-001@127.0.0.1:6001' }],
      [3_000, { type: 'answered' }],
      [5_000, { type: 'pause_recording', by: 'agent:beijing/bj-001' }],
      [9_000, { type: 'ended', by: 'caller' }],
    ]);
    expect(effects.flat().filter((e) => e.type === 'recording')).toEqual([]);
    expect(state.recording).toEqual({ state: 'off' });
  });
});

describe('inputs that do not apply change nothing', () => {
  const cases: [string, CallState, CallInput][] = [
    ['an answer for a queued call', fresh(), { type: 'answered' }],
    ['a hang-up before an answer', queuedAndRinging(), { type: 'ended', by: 'caller' }],
    [
      'an assignment for a ringing call',
      queuedAndRinging(),
      { type: 'assigned', agentId: 'bj-002', uri: 'sip:x@127.0.0.1' },
    ],
    ['a move for a ringing call', queuedAndRinging(), moveTo(GUANGZHOU, 'd')],
    ['a CANCEL for a finished call', { ...fresh(), phase: { name: 'done' } }, { type: 'cancel' }],
    [
      'wrap-up done for a talking call',
      {
        ...fresh(),
        phase: { name: 'talking', agentId: 'a', answeredMs: T0, waitedMs: 0, agentTag: 't' },
      },
      { type: 'wrap_up_done' },
    ],
    [
      'a pause before the answer',
      { ...fresh(CONTEXT, true), phase: { name: 'ringing', agentId: 'a', cancelled: false } },
      { type: 'pause_recording', by: 'supervisor:beijing' },
    ],
    [
      'a resume of a recording that is not paused',
      {
        ...fresh(CONTEXT, true),
        phase: { name: 'talking', agentId: 'a', answeredMs: T0, waitedMs: 0, agentTag: 't' },
        recording: { state: 'recording' },
      },
      { type: 'resume_recording', by: 'supervisor:beijing' },
    ],
  ];
  it.each(cases)('%s', (_what, state, input) => {
    const next = step(state, input, T0 + 1_000, SITE);
    expect(next.effects).toEqual([]);
    expect(next.state).toEqual(state);
  });
});
