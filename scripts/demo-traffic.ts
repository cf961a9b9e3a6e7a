// The local federation's demo traffic at one site: the site's agents at a sipp phone, logged in
// and ready through the site agent's control API, and a steady trickle of callers on each of the
// site's numbers (some who give up while queued). Each number has its own hundred regular callers,
// who call again and again; the enterprise's CRM knows them (some VIP, some gold or silver), and
// this script publishes them to the customer directory as the CRM connector would: the site
// identifies callers by their numbers, callers set no X-CC-* header. At HQ, a surge now and then:
// more calls than its agents can answer, which the router overflows to the branches. The same
// scenarios the tests use (services/sipp/).
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  createKafka,
  secureChannel,
  type KafkaCredentials,
  type Logger,
  type TlsMaterial,
} from '@ccfed/common';
import {
  CustomerDirectoryEntry,
  customerDirectoryKey,
  CustomerTier,
  site as siteApi,
  type TopicNames,
} from '@ccfed/proto';
import {
  agentPhone,
  callerNumbers,
  freePort,
  queuedCallers,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import { callerHash } from '@ccfed/site-agent/caller-hash';
import type { Site, Topology } from '@ccfed/topology';
import { createClient } from 'nice-grpc';

export interface DemoTraffic {
  /** One line for the start-up banner. */
  readonly describe: string;
  stop(): Promise<void>;
}

/** Seconds between two calls to each number: with 4 numbers, a call every 15 s on average. */
const SECONDS_PER_CALL_PER_NUMBER = 60;
/** Each number's regular callers: sipp's call numbers 1..CALLERS_PER_NUMBER, again and again. */
const CALLERS_PER_NUMBER = 100;
/** A surge: this many extra calls at this rate, every SURGE_EVERY_MS, starting a minute in. */
const SURGE_CALLS = 60;
const SURGE_RATE = 0.5;
const SURGE_EVERY_MS = 10 * 60_000;

/** The callers of one number: these digits, then 1..CALLERS_PER_NUMBER. */
function callerPrefix(site: Site, numberIndex: number): string {
  return `86${site.sip.port}${numberIndex}`;
}

/** What the CRM knows of a number's regular callers: every tenth a VIP, then gold, silver. */
function tierOf(i: number): CustomerTier {
  if (i % 10 === 0) return CustomerTier.CUSTOMER_TIER_VIP;
  if (i % 5 === 0) return CustomerTier.CUSTOMER_TIER_GOLD;
  if (i % 3 === 0) return CustomerTier.CUSTOMER_TIER_SILVER;
  return CustomerTier.CUSTOMER_TIER_STANDARD;
}

/**
 * Publishes the site's regular callers to the customer directory, as the enterprise's CRM
 * connector does: keyed <tenant>:<caller hash>, the number hashed with the federation's key.
 */
async function publishDirectory(opts: {
  readonly site: Site;
  readonly numbers: Site['numbers'];
  readonly kafkaBrokers: readonly string[];
  /** The CRM connector's Kafka user (`crm`): it writes the directory, nothing else of the sites'. */
  readonly kafkaCredentials: KafkaCredentials;
  readonly topics: TopicNames;
  readonly callerHashKey: string;
  readonly log: Logger;
}): Promise<void> {
  const kafka = createKafka({
    brokers: opts.kafkaBrokers,
    clientId: 'ccfed-demo-crm',
    credentials: opts.kafkaCredentials,
    log: opts.log,
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const messages = opts.numbers.flatMap((n, ni) =>
      callerNumbers(callerPrefix(opts.site, ni), CALLERS_PER_NUMBER).map((number, i) => {
        const hash = callerHash(opts.callerHashKey, number);
        const entry = CustomerDirectoryEntry.encode({
          meta: {
            eventId: randomUUID(),
            tenantId: n.tenant,
            siteId: '',
            eventTime: new Date(),
            trace: undefined,
            producerSequence: 0,
          },
          callerHash: hash,
          customerId: `${n.tenant}-${number}`,
          tier: tierOf(i + 1),
        }).finish();
        return { key: customerDirectoryKey(n.tenant, hash), value: Buffer.from(entry) };
      }),
    );
    await producer.send({ topic: opts.topics.customerDirectory, messages });
  } finally {
    await producer.disconnect();
  }
}

export async function startDemoTraffic(opts: {
  readonly topology: Topology;
  readonly site: Site;
  /** A certificate that may log the site's agents in: its supervisor's. */
  readonly tls: TlsMaterial;
  readonly sip: { readonly host: string; readonly port: number };
  readonly logDir: string;
  readonly surge?: boolean;
  /** The agent left logged out for a person at the desktop (the users file's agent user). */
  readonly deskAgent?: string;
  /** Where the CRM connector publishes the customer directory, and as whom (Kafka user `crm`). */
  readonly kafkaBrokers: readonly string[];
  readonly kafkaCredentials: KafkaCredentials;
  readonly topics: TopicNames;
  readonly callerHashKey: string;
  readonly log: Logger;
}): Promise<DemoTraffic> {
  const { site, sip, logDir } = opts;
  mkdirSync(logDir, { recursive: true });
  // A number of a tenant the routing policy keeps out of this site is refused there: no callers.
  const excluded = new Set(
    opts.topology.routing.tenantRestrictions
      .filter((r) => r.excludedSites.includes(site.id))
      .map((r) => r.tenant),
  );
  const numbers = site.numbers.filter((n) => !excluded.has(n.tenant));
  await publishDirectory({ ...opts, numbers });
  const runs = new Set<LoggedSippRun>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const stop = async () => {
    stopped = true;
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
      if (agent.id === opts.deskAgent) continue;
      await control.login({ agentId: agent.id, contactUri: `sip:${agent.id}@127.0.0.1:${port}` });
      await control.setReady({ agentId: agent.id });
    }
    const callers = async (
      number: string,
      prefix: string,
      calls: number,
      rate: number,
      log: string,
    ) =>
      track(
        queuedCallers({
          proxy: sip,
          service: number,
          callerPrefix: prefix,
          patienceMs: 20_000,
          patienceExpMeanMs: 60_000,
          calls,
          rate,
          port: await freePort(),
          logFile: join(logDir, log),
          timeout: '0',
        }),
      );
    // Each number's regular callers call in rounds: once all have called, they start again.
    const rounds = async (number: string, prefix: string) => {
      const run = await callers(
        number,
        prefix,
        CALLERS_PER_NUMBER,
        1 / SECONDS_PER_CALL_PER_NUMBER,
        `callers-${number}.log`,
      );
      void run.exited.then(() => {
        if (!stopped) void rounds(number, prefix);
      });
    };
    for (const [i, number] of numbers.entries()) await rounds(number.number, callerPrefix(site, i));
    const surgeNumber = numbers.find((n) => n.skill === 'support') ?? numbers[0];
    if (opts.surge && surgeNumber) {
      const surge = () => {
        // Callers the directory does not know: standard.
        void callers(
          surgeNumber.number,
          `87${site.sip.port}`,
          SURGE_CALLS,
          SURGE_RATE,
          'surge.log',
        );
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
  const perMinute = (numbers.length * 60) / SECONDS_PER_CALL_PER_NUMBER;
  return {
    describe:
      `${site.agents.length - (opts.deskAgent ? 1 : 0)} sipp agents` +
      (opts.deskAgent ? ` (${opts.deskAgent} at the desktop)` : '') +
      `, ~${perMinute} calls/min` +
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
