// The local federation's demo traffic at one site: the site's agents at a sipp phone, logged in
// and ready through the site agent's control API, and a steady trickle of callers on each of the
// site's numbers (some VIP, some who give up while queued). At HQ, a surge now and then: more
// calls than its agents can answer, which the router overflows to the branches. The same
// scenarios the tests use (services/sipp/).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { secureChannel, type TlsMaterial } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import {
  agentPhone,
  freePort,
  queuedCallers,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import type { Site } from '@ccfed/topology';
import { createClient } from 'nice-grpc';

export interface DemoTraffic {
  /** One line for the start-up banner. */
  readonly describe: string;
  stop(): Promise<void>;
}

/** Seconds between two calls to each number: with 4 numbers, a call every 15 s on average. */
const SECONDS_PER_CALL_PER_NUMBER = 60;
const TIERS = ['standard', 'gold', 'vip', 'standard'] as const;
/** A surge: this many extra calls at this rate, every SURGE_EVERY_MS, starting a minute in. */
const SURGE_CALLS = 60;
const SURGE_RATE = 0.5;
const SURGE_EVERY_MS = 10 * 60_000;

export async function startDemoTraffic(opts: {
  readonly site: Site;
  /** A certificate that may log the site's agents in: its supervisor's. */
  readonly tls: TlsMaterial;
  readonly sip: { readonly host: string; readonly port: number };
  readonly logDir: string;
  readonly surge?: boolean;
}): Promise<DemoTraffic> {
  const { site, sip, logDir } = opts;
  mkdirSync(logDir, { recursive: true });
  const runs = new Set<LoggedSippRun>();
  const timers: NodeJS.Timeout[] = [];
  const stop = async () => {
    for (const t of timers) clearTimeout(t);
    await Promise.all([...runs].map((r) => r.stop()));
  };
  const track = (run: LoggedSippRun) => {
    runs.add(run);
    void run.exited.then(() => runs.delete(run));
    return run;
  };
  const channel = secureChannel(
    `${site.grpc.host}:${site.grpc.port}`,
    opts.tls,
    (server) => server.kind === 'site' && server.site === site.id,
    `site:${site.id}`,
  );
  const control = createClient(siteApi.AgentControlDefinition, channel);
  try {
    // One phone process answers for every agent of the site: the agent is the request URI's user.
    const port = await freePort();
    track(
      agentPhone({
        port,
        ringMs: 2_000,
        talkMeanMs: 25_000,
        logFile: join(logDir, 'phones.log'),
        timeout: '0',
      }),
    );
    await waitUntilListening(port);
    for (const agent of site.agents) {
      await control.login({ agentId: agent.id, contactUri: `sip:${agent.id}@127.0.0.1:${port}` });
      await control.setReady({ agentId: agent.id });
    }
    const callers = async (
      number: string,
      tier: (typeof TIERS)[number],
      calls: number,
      rate: number,
      log: string,
    ) =>
      track(
        queuedCallers({
          proxy: sip,
          service: number,
          tier,
          patienceMs: 20_000,
          patienceExpMeanMs: 60_000,
          calls,
          rate,
          port: await freePort(),
          logFile: join(logDir, log),
          timeout: '0',
        }),
      );
    for (const [i, number] of site.numbers.entries()) {
      await callers(
        number.number,
        TIERS[i % TIERS.length]!,
        1_000_000,
        1 / SECONDS_PER_CALL_PER_NUMBER,
        `callers-${number.number}.log`,
      );
    }
    const surgeNumber = site.numbers.find((n) => n.skill === 'support') ?? site.numbers[0];
    if (opts.surge && surgeNumber) {
      const surge = () => {
        void callers(surgeNumber.number, 'standard', SURGE_CALLS, SURGE_RATE, 'surge.log');
        timers.push(setTimeout(surge, SURGE_EVERY_MS));
      };
      timers.push(setTimeout(surge, 60_000));
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    channel.close();
  }
  const perMinute = (site.numbers.length * 60) / SECONDS_PER_CALL_PER_NUMBER;
  return {
    describe:
      `${site.agents.length} agents, ~${perMinute} calls/min` +
      (opts.surge ? `, surge of ${SURGE_CALLS} calls every ${SURGE_EVERY_MS / 60_000} min` : ''),
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
