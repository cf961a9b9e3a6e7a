// The local federation's demo traffic: every agent of the site at a sipp phone, logged in and
// ready through the site agent's control API, and a steady trickle of callers on each of the
// site's numbers (some VIP, some who give up while queued). The same scenarios the tests use
// (services/sipp/).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { site as siteApi } from '@ccfed/proto';
import {
  agentPhone,
  freePort,
  queuedCallers,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import type { Site } from '@ccfed/topology';
import { createChannel, createClient } from 'nice-grpc';

export interface DemoTraffic {
  readonly phones: number;
  readonly callsPerMinute: number;
  readonly logDir: string;
  stop(): Promise<void>;
}

/** Seconds between two calls to each number: with 4 numbers, a call every 15 s on average. */
const SECONDS_PER_CALL_PER_NUMBER = 60;
const TIERS = ['standard', 'gold', 'vip', 'standard'] as const;

export async function startDemoTraffic(opts: {
  readonly site: Site;
  readonly sip: { readonly host: string; readonly port: number };
  readonly logDir: string;
}): Promise<DemoTraffic> {
  const { site, sip, logDir } = opts;
  mkdirSync(logDir, { recursive: true });
  const runs: LoggedSippRun[] = [];
  const stop = async () => {
    await Promise.all(runs.map((r) => r.stop()));
  };
  const channel = createChannel(`${site.grpc.host}:${site.grpc.port}`);
  const control = createClient(siteApi.AgentControlDefinition, channel);
  try {
    for (const agent of site.agents) {
      const port = await freePort();
      runs.push(
        agentPhone({
          port,
          ringMs: 2_000,
          talkMeanMs: 25_000,
          logFile: join(logDir, `phone-${agent.id}.log`),
          timeout: '0',
        }),
      );
      await waitUntilListening(port);
      await control.login({ agentId: agent.id, contactUri: `sip:${agent.id}@127.0.0.1:${port}` });
      await control.setReady({ agentId: agent.id });
    }
    for (const [i, number] of site.numbers.entries()) {
      runs.push(
        queuedCallers({
          proxy: sip,
          service: number.number,
          tier: TIERS[i % TIERS.length]!,
          patienceMs: 20_000,
          patienceExpMeanMs: 60_000,
          calls: 1_000_000,
          rate: 1 / SECONDS_PER_CALL_PER_NUMBER,
          port: await freePort(),
          logFile: join(logDir, `callers-${number.number}.log`),
          timeout: '0',
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    channel.close();
  }
  return {
    phones: site.agents.length,
    callsPerMinute: (site.numbers.length * 60) / SECONDS_PER_CALL_PER_NUMBER,
    logDir,
    stop,
  };
}

async function waitUntilListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!(await udpPortFree(port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the sipp agent phone on UDP port ${port} did not start`);
}
