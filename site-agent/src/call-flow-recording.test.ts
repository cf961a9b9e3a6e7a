// The call flow hands the recorder what the call machine decides: which calls the tenants'
// policies record, the start at the agent's answer with the caller's tag, pauses by whom, and
// the stop at the hang-up. The recorder here only notes what it is told; the real one against
// rtpengine is tests/recording/recording-e2e.test.ts.
import { recordingDecision } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { RecordingControlError } from './recording/recording-control.js';
import { setup } from './call-flow-test-support.js';
import type { CallRecorder, RecordedCall } from './recording/recorder.js';

const ACME_SALES = '400200100';
const ZENITH_SUPPORT = '400200400';

function noteTaker(): CallRecorder & { readonly said: string[]; readonly started: RecordedCall[] } {
  const said: string[] = [];
  const started: RecordedCall[] = [];
  return {
    said,
    started,
    start: (call) => {
      started.push(call);
      said.push(`start ${call.callId}`);
    },
    pause: (callId, by) => void said.push(`pause ${callId} by ${by}`),
    resume: (callId, by) => void said.push(`resume ${callId} by ${by}`),
    stop: (callId, reason) => void said.push(`stop ${callId} ${reason}`),
    recordingIdOf: (callId) => `rec-of-${callId}`,
  };
}

describe('the call flow records what the policy says', () => {
  it('records an Acme call from the answer, pauses and resumes for its agent, stops at the hang-up', () => {
    const recorder = noteTaker();
    const { invite, staff, ev, clock, flow } = setup({ recorder });
    staff('bj-001', 6001);
    invite('c1', ACME_SALES);
    expect(recorder.said).toEqual([]);
    clock.advance(3000);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    expect(recorder.started).toEqual([
      {
        callId: 'c1',
        callerTag: 'tag-c1',
        tenantId: 'acme-bank',
        skill: 'sales',
        agentId: 'bj-001',
      },
    ]);
    expect(flow.recordingControl('bj-001', 'pause', 'agent:beijing/bj-001')).toEqual({
      callId: 'c1',
      recordingId: 'rec-of-c1',
      state: 'paused',
    });
    // Asked again: the same answer, nothing sent twice.
    expect(flow.recordingControl('bj-001', 'pause', 'supervisor:beijing').state).toBe('paused');
    expect(flow.recordingControl('bj-001', 'resume', 'supervisor:beijing').state).toBe('recording');
    ev({ event: 'ended', callid: 'c1', agent: 'bj-001', by: 'caller' });
    expect(recorder.said).toEqual([
      'start c1',
      'pause c1 by agent:beijing/bj-001',
      'resume c1 by supervisor:beijing',
      'stop c1 hang_up',
    ]);
  });

  it('refuses a pause for an agent on no call, or on a call the policy does not record', () => {
    const recorder = noteTaker();
    const { invite, staff, ev, flow } = setup({
      recorder,
      mutate: (doc) => doc.replace('recording: { calls: all, retentionDays: 90 }', ''),
    });
    staff('bj-001', 6001);
    const pause = () => flow.recordingControl('bj-001', 'pause', 'agent:beijing/bj-001');
    expect(pause).toThrow(
      new RecordingControlError('agent bj-001 is not talking on a call', 'not_on_call'),
    );
    invite('c1', ACME_SALES);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    expect(pause).toThrow('call c1 of agent bj-001 is not being recorded');
    expect(recorder.said).toEqual([]);
  });

  it('samples Zenith’s support calls by Call-ID, as the policy’s decision says', () => {
    const recorder = noteTaker();
    const { invite, staff, ev, flow, acd, clock } = setup({ recorder });
    const ids = Array.from({ length: 40 }, (_, i) => `z${i}`);
    const zenith = {
      recording: { calls: 'sample' as const, samplePercent: 20, retentionDays: 30, skills: {} },
    };
    const expected = ids.filter((id) => recordingDecision(zenith, 'support', id).record);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(ids.length);
    staff('bj-003', 6003);
    for (const id of ids) {
      invite(id, ZENITH_SUPPORT);
      ev({ event: 'answered', callid: id, agent: 'bj-003' });
      ev({ event: 'ended', callid: id, agent: 'bj-003', by: 'caller' });
      // The agent's wrap-up ends; the ACD makes it ready for the next call.
      clock.advance(60_000);
      flow.carryOut(acd.tick());
    }
    expect(recorder.started.map((c) => c.callId)).toEqual(expected);
  });

  it('records nothing without a recorder', () => {
    const { invite, staff, ev, flow } = setup();
    staff('bj-001', 6001);
    invite('c1', ACME_SALES);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    expect(() => flow.recordingControl('bj-001', 'pause', 'x')).toThrow(/not being recorded/);
  });
});
