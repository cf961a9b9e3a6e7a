// The test phones themselves: two baresip phones call each other directly on loopback, each
// hears the other's tone, and what they heard is measured with sox.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dominantFrequency, renderTone, soundSpansOf } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { uniqueName } from '../support/engines.js';

describe('baresip test phones', () => {
  const dir = join(inject('runDir'), uniqueName('phones'));
  let caller: BaresipPhone;
  let agent: BaresipPhone;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const [callerTone, agentTone] = await Promise.all([
      renderTone(join(dir, 'caller-400.wav'), 400, 30),
      renderTone(join(dir, 'agent-1000.wav'), 1000, 30),
    ]);
    [caller, agent] = await Promise.all([
      startBaresip({ dir: join(dir, 'caller'), user: 'caller', microphone: callerTone }),
      startBaresip({
        dir: join(dir, 'agent'),
        user: 'agent',
        microphone: agentTone,
        autoAnswer: true,
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([caller?.stop(), agent?.stop()]);
  });

  it('calls directly, and each phone hears the other one tone within 5 %', async () => {
    const since = Date.now();
    await caller.dial(agent.uri);
    await caller.waitForEvent('CALL_ESTABLISHED', { since });
    await agent.waitForEvent('CALL_ESTABLISHED', { since });
    // Let three seconds of audio flow, measured by what the agent phone recorded.
    await new Promise((r) => setTimeout(r, 3000));
    await caller.hangup();
    await agent.waitForEvent('CALL_CLOSED', { since });

    const heardByCaller = caller.recordings().heard.at(-1)!;
    const heardByAgent = agent.recordings().heard.at(-1)!;
    const [callerHz, agentHz] = await Promise.all([
      dominantFrequency(heardByCaller, { startS: 0.5, durationS: 2 }),
      dominantFrequency(heardByAgent, { startS: 0.5, durationS: 2 }),
    ]);
    expect(Math.abs(callerHz - 1000) / 1000).toBeLessThan(0.05);
    expect(Math.abs(agentHz - 400) / 400).toBeLessThan(0.05);
    const spans = await soundSpansOf(heardByAgent, { bridgeMs: 200 });
    expect(spans.length).toBeGreaterThan(0);
    expect(spans.at(-1)!.endS - spans[0]!.startS).toBeGreaterThan(2.5);
  });
});
