// npm run bench:router — the central router pair (two router processes: gRPC server, Kafka state
// feed, decision publisher, each holding the other's reservations) on its own Kafka broker, with
// snapshots of every site of a generated federation published every 500 ms, asked RequestRoute
// through the site agents' own router client (site-agent/src/overflow/router-client.ts: the
// pair in each site's order, failover on error, hedged after HEDGE_MS, the topology's request
// deadline), one client per origin site, half of them preferring each router, in one process.
// Writes bench/results/router.json:
//
//   decisions_per_s   most answers per second, the client keeping CONCURRENCY calls in flight
//                     (closed loop: latency there is concurrency / throughput, queueing by design,
//                     and is kept in saturation_latency_ms)
//   latency_ms        p50 / p99 per request (client side, send → answer) when the calls come at
//                     RATE per second on a fixed schedule, as independent site agents ask
//   failover_ms       median / max over FAILOVER_RUNS of: one router SIGKILLed while a site's
//                     client asks back to back (that router first in its order) → the first
//                     answer from the other router; the killed router is restarted between runs
//   hang_failover_ms  the same with the router SIGSTOPped (hung: nothing refused, nothing
//                     answered), continued after each run
//
// Each request is a realistic ask: a random origin site, tenant and skill, a call that has waited
// a while with an EWT at home from 10 s to 10 min, so that answers are overflow or stay (some under
// the threshold, some with no better site). Decisions reserve capacity at their target and are
// published to the route-decisions topic, as in production. gRPC is mutual TLS as in production:
// the router has its service certificate and each origin site's requests go over a channel with
// that site's certificate (the router answers a site only for its own calls). After a warm-up,
// each of RUNS rounds measures both for SECONDS; the median round of each is reported, every
// round in `runs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { loadTls, systemClock, type Principal } from '@ccfed/common';
import { CustomerTier, routing, SiteSnapshot, topicNames } from '@ccfed/proto';
import { assignFreePorts, freePort } from '@ccfed/services';
import { parseTopology } from '@ccfed/topology';
import { routerClient } from '@ccfed/site-agent/overflow/router-client';
import type { RouteAnswer, RouteQuestion } from '@ccfed/site-agent/overflow/outbound';
import { DEFAULT_HEDGE_AFTER_MS } from '@ccfed/site-agent/overflow/router-pair';
import { Partitioners } from 'kafkajs';
import { createClient } from 'nice-grpc';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import {
  benchArgs,
  benchChannel,
  benchKafka,
  benchKafkaClient,
  benchService,
  percentile,
  round,
  ROOT,
  runBench,
} from './harness.js';

const args = benchArgs({
  sites: { full: '10', smoke: '4' },
  seconds: { full: '10', smoke: '1' },
  'warmup-seconds': { full: '3', smoke: '1' },
  concurrency: { full: '32', smoke: '4' },
  runs: { full: '3', smoke: '1' },
  rate: { full: '1000', smoke: '100' },
  'failover-runs': { full: '5', smoke: '1' },
});
const { values } = args;
const SITES = Number(values.sites);
const SECONDS = Number(values.seconds);
const WARMUP_SECONDS = Number(values['warmup-seconds']);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);
const RATE = Number(values.rate);
const FAILOVER_RUNS = Number(values['failover-runs']);
/** The site agents' default (CCFED_ROUTER_HEDGE_MS). */
const HEDGE_MS = DEFAULT_HEDGE_AFTER_MS;
const SNAPSHOT_INTERVAL_MS = 500;
/** The router's principal: what its certificate names and what its clients expect. */
const ROUTER: Principal = { kind: 'service', service: 'router' };

interface Measurement {
  readonly started: number;
  readonly latencies: number[];
  readonly verdicts: { overflow: number; stay: number };
  errors: number;
  behind: number;
  /** The client's own event-loop delay: time a finished call may wait before it is timed. */
  readonly loopDelay: IntervalHistogram;
}

interface Run {
  mode: 'saturation' | 'paced';
  decisions: number;
  seconds: number;
  decisions_per_s: number;
  errors: number;
  behind_schedule: number;
  verdicts: { overflow: number; stay: number };
  latency_ms: { p50: number; p99: number; max: number };
  client_event_loop_delay_ms: { p50: number; p99: number };
}

function measurement(): Measurement {
  return {
    started: performance.now(),
    latencies: [],
    verdicts: { overflow: 0, stay: 0 },
    errors: 0,
    behind: 0,
    loopDelay: (() => {
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      return h;
    })(),
  };
}

function summary(m: Measurement, mode: Run['mode']): Run {
  const elapsed = (performance.now() - m.started) / 1000;
  const sorted = [...m.latencies].sort((a, b) => a - b);
  m.loopDelay.disable();
  return {
    mode,
    decisions: sorted.length,
    seconds: round(elapsed),
    decisions_per_s: Math.round(sorted.length / elapsed),
    errors: m.errors,
    behind_schedule: m.behind,
    verdicts: m.verdicts,
    latency_ms: {
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? Number.NaN),
    },
    client_event_loop_delay_ms: {
      p50: round(m.loopDelay.percentile(50) / 1e6),
      p99: round(m.loopDelay.percentile(99) / 1e6),
    },
  };
}

function median<T>(list: readonly T[], by: (x: T) => number): T {
  return [...list].sort((a, b) => by(a) - by(b))[Math.floor(list.length / 2)]!;
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;
const between = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** The example federation's three sites, plus branches cloned from Guangzhou up to `count`. */
async function federation(count: number): Promise<unknown> {
  const doc = parse(readFileSync(join(ROOT, 'topology', 'example.yaml'), 'utf8'));
  const template = doc.sites.find((s: { id: string }) => s.id === 'guangzhou');
  for (let i = doc.sites.length + 1; i <= count; i++) {
    const id = `branch-${String(i).padStart(2, '0')}`;
    doc.sites.push({
      ...structuredClone(template),
      id,
      name: `Branch ${i}`,
      numbers: template.numbers.map((n: { number: string }, k: number) => ({
        ...n,
        number: `4009${String(i).padStart(2, '0')}${k}00`,
      })),
      agents: template.agents.map((a: { id: string }, k: number) => ({
        ...a,
        id: `b${i}-${String(k + 1).padStart(3, '0')}`,
      })),
    });
  }
  // Nothing the bench reserves ever arrives, so every reservation lives its whole timeout and
  // the per-origin cap would keep most asks home after the first second: it is not what this
  // measures, and with it the figures would not compare with earlier runs.
  doc.routing.maxReservationsPerOrigin = 100_000;
  await assignFreePorts(doc);
  return doc;
}

await runBench('router', args, async (run) => {
  const { dir, onCleanup } = run;
  const kafka = await benchKafka(run);

  const doc = await federation(SITES);
  const topologyFile = join(dir, 'topology.yaml');
  writeFileSync(topologyFile, stringify(doc));
  const topology = parseTopology(stringify(doc), topologyFile);
  const siteIds = topology.sites.map((s) => s.id);
  const tenants = topology.tenants.map((t) => t.id);
  const skills = topology.skills.map((s) => s.id);
  const topics = topicNames('ccfed');

  /** One router of the pair, restarted on the same port after each failover run. */
  interface PairRouter {
    readonly id: string;
    readonly address: string;
    readonly port: number;
    process: Awaited<ReturnType<typeof benchService>>;
  }
  const startRouter = (id: string, port: number) =>
    benchService(run, {
      name: `${id}-${Date.now()}`,
      entry: 'central/router/src/index.ts',
      // e.g. BENCH_ROUTER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the router.
      nodeArgs: process.env.BENCH_ROUTER_NODE_ARGS,
      tls: ROUTER,
      // Its Kafka user; the topics are created here, as the local federation's start does.
      kafka: { broker: kafka, as: { role: 'router' }, prefix: 'ccfed' },
      env: {
        CCFED_TOPOLOGY: topologyFile,
        CCFED_ROUTER_PORT: String(port),
        CCFED_ROUTER_ID: id,
      },
    });
  const routers: PairRouter[] = [];
  for (const id of ['router-a', 'router-b']) {
    const port = await freePort();
    routers.push({ id, port, address: `127.0.0.1:${port}`, process: await startRouter(id, port) });
  }

  // Site agents' snapshots: every site, every skill, every tenant, new figures each time (the
  // bench publishes for all of them, as the admin).
  const producer = benchKafkaClient(kafka, 'bench-sites').producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  onCleanup(() => producer.disconnect());
  let sequence = 0;
  let snapshotsSent = 0;
  let feeding = true;
  const feed = async () => {
    while (feeding) {
      sequence += 1;
      const messages = siteIds.map((siteId) => {
        const snap = SiteSnapshot.fromPartial({
          meta: { eventId: `${siteId}-${sequence}`, siteId, eventTime: new Date() },
          sequence,
          acceptingOverflow: true,
          skills: skills.map((skill) => ({
            skill,
            averageHandleMs: between(120, 300) * 1000,
            tenants: tenants.map((tenantId) => {
              const staffed = between(2, 12);
              return {
                tenantId,
                agentsStaffed: staffed,
                agentsIdle: between(0, Math.min(3, staffed)),
                queued: between(0, 15),
              };
            }),
          })),
        });
        return { key: siteId, value: Buffer.from(SiteSnapshot.encode(snap).finish()) };
      });
      await producer.send({ topic: topics.siteSnapshots, messages }).catch(() => undefined);
      snapshotsSent += messages.length;
      await new Promise((r) => setTimeout(r, SNAPSHOT_INTERVAL_MS));
    }
  };
  const feeder = feed();
  onCleanup(async () => {
    feeding = false;
    await feeder;
  });

  // Each origin site's router client, with that site's certificate, as each site agent has its
  // own; half the sites list router A first, half router B, so both serve at once.
  const deadlineMs = topology.routing.requestDeadlineMs;
  const clientLog = pino({ level: 'warn' }, pino.destination(join(dir, 'site-clients.log')));
  const pairClient = async (siteId: string, addresses: string[]) => {
    const client = routerClient({
      addresses,
      siteId,
      deadlineMs,
      hedgeAfterMs: HEDGE_MS,
      tls: loadTls(await (await run.pki()).issue({ kind: 'site', site: siteId })),
      clock: systemClock,
      log: clientLog,
    });
    onCleanup(async () => client.close());
    return client;
  };
  const clients = new Map<string, { ask: (q: RouteQuestion) => Promise<RouteAnswer> }>();
  for (const [i, siteId] of siteIds.entries()) {
    const [first, second] = i % 2 === 0 ? routers : [...routers].reverse();
    clients.set(siteId, await pairClient(siteId, [first!.address, second!.address]));
  }
  let callNo = 0;
  // Every answer is a decision a router publishes, probes included.
  let answeredCount = 0;
  const question = (): RouteQuestion => ({
    callId: `bench-${process.pid}-${++callNo}`,
    tenantId: pick(tenants),
    skill: pick(skills),
    tier: pick([CustomerTier.CUSTOMER_TIER_STANDARD, CustomerTier.CUSTOMER_TIER_VIP]),
    waitedMs: between(5, 120) * 1000,
    expectedWaitMs: between(10, 600) * 1000,
    hops: Math.random() < 0.05 ? 1 : 0,
  });
  const ask = () => clients.get(pick(siteIds))!.ask(question());

  /** Waits until `r` answers with every site's figures: a call from a busy site has choices. */
  const waitUp = async (r: PairRouter) => {
    // A channel of its own: one to an earlier process of the router may be backing off.
    const channel = await benchChannel(run, r.address, {
      as: { kind: 'site', site: 'shanghai' },
      server: ROUTER,
    });
    const direct = createClient(routing.CentralRouterDefinition, channel);
    const upBy = Date.now() + 60_000;
    for (;;) {
      if (r.process.child.exitCode !== null)
        throw new Error(`${r.id} exited; see ${r.process.logFile}`);
      const ok = await direct
        .requestRoute(
          {
            callId: `bench-${process.pid}-${++callNo}`,
            originSiteId: 'shanghai',
            tenantId: 'acme-bank',
            skill: 'support',
            tier: CustomerTier.CUSTOMER_TIER_STANDARD,
            waitedMs: 60_000,
            originExpectedWaitMs: 300_000,
            hopCount: 0,
            trace: undefined,
          },
          { signal: AbortSignal.timeout(1_000) },
        )
        .then((res) => {
          answeredCount += 1;
          return res.alternatives.filter((a) => a.eligible).length >= SITES - 2;
        })
        .catch(() => false);
      if (ok) break;
      if (Date.now() > upBy) throw new Error(`${r.id} did not come up; see ${r.process.logFile}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    channel.close();
  };
  await Promise.all(routers.map(waitUp));

  // One request; its latency is send → answer as the client sees it.
  const one = async (m: Measurement): Promise<void> => {
    const t0 = performance.now();
    try {
      const res = await ask();
      m.latencies.push(performance.now() - t0);
      answeredCount += 1;
      if (res.verdict === 'overflow') m.verdicts.overflow += 1;
      else m.verdicts.stay += 1;
    } catch {
      m.errors += 1;
    }
  };

  // Closed loop: CONCURRENCY callers, each asking again as soon as answered. Gives the most
  // decisions per second; latency is then concurrency / throughput (queueing), by construction.
  const saturate = async (seconds: number): Promise<Run> => {
    const m = measurement();
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) await one(m);
      }),
    );
    return summary(m, 'saturation');
  };

  // Open loop: requests start on a fixed schedule of RATE per second (at most CONCURRENCY in
  // flight), as site agents ask independently of each other's answers. Gives the latency a
  // caller sees at that load. A request that could not start within 5 ms of its slot (timer
  // granularity, or the in-flight cap) is counted as behind schedule.
  const paced = async (seconds: number): Promise<Run> => {
    const m = measurement();
    const total = Math.round(seconds * RATE);
    const inFlight = new Set<Promise<void>>();
    let next = 0;
    while (next < total) {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - m.started) * RATE) / 1000) + 1);
      while (next < due && inFlight.size < CONCURRENCY) {
        if (now - (m.started + (next * 1000) / RATE) > 5) m.behind += 1;
        next += 1;
        const p: Promise<void> = one(m).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inFlight);
    return summary(m, 'paced');
  };

  const show = (r: Run) =>
    console.log(
      `${r.mode}${r.mode === 'paced' ? ` at ${RATE}/s` : ` (${CONCURRENCY} in flight)`}: ${r.decisions_per_s} decisions/s (${r.verdicts.overflow} overflow, ${r.verdicts.stay} stay, ${r.errors} errors${r.mode === 'paced' ? `, ${r.behind_schedule} behind schedule` : ''}); latency p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms; client loop delay p99 ${r.client_event_loop_delay_ms.p99} ms`,
    );
  await saturate(WARMUP_SECONDS);
  const saturation: Run[] = [];
  const atRate: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    saturation.push(await saturate(SECONDS));
    show(saturation.at(-1)!);
    atRate.push(await paced(SECONDS));
    show(atRate.at(-1)!);
  }

  // Every answered decision should be on the route-decisions topic once the publisher caught up.
  const admin = benchKafkaClient(kafka, 'bench-admin').admin();
  await admin.connect();
  const answered = answeredCount;
  let published = 0;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
    const offsets = await admin.fetchTopicOffsets(topics.routeDecisions);
    published = offsets.reduce((sum, o) => sum + Number(o.high), 0);
    if (published >= answered) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await admin.disconnect();

  // Failover: a site's client asks back to back, its first router fails, and the time from the
  // fault to the first answer from the other router is one run. `kill`: SIGKILL, the router comes
  // back on its port before the next run (which faults the other one); `hang`: SIGSTOP, continued
  // after the run (a hung router answers nothing and refuses nothing: the hedge finds the other).
  // Measured after the route-decisions check above: a killed router's last decisions, still
  // queued for Kafka, die with it.
  const failoverRun = async (victim: PairRouter, other: PairRouter, fault: 'kill' | 'hang') => {
    const client = await pairClient('shanghai', [victim.address, other.address]);
    for (const upBy = Date.now() + 30_000; ;) {
      const r = await client.ask(question()).catch(() => undefined);
      if (r?.router === victim.address) break;
      if (Date.now() > upBy) throw new Error(`${victim.id} does not answer the failover client`);
      await new Promise((res) => setTimeout(res, 100));
    }
    // Set once the fault is injected; read by the asking loop (hence let, though assigned once).
    let faultAt: number | undefined = undefined;
    let recovered: number | undefined;
    let fromVictim = 0;
    const giveUp = performance.now() + 60_000;
    const asking = (async () => {
      while (recovered === undefined && performance.now() < giveUp) {
        const r = await client.ask(question()).catch(() => undefined);
        const t = performance.now();
        if (faultAt === undefined || !r) continue;
        if (r.router === other.address) recovered = t;
        else fromVictim += 1;
      }
    })();
    await new Promise((res) => setTimeout(res, 300));
    faultAt = performance.now();
    victim.process.child.kill(fault === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    await asking;
    if (fault === 'hang') victim.process.child.kill('SIGCONT');
    if (recovered === undefined)
      throw new Error(
        `no answer from ${other.id} after ${fault === 'kill' ? 'killing' : 'stopping'} ${victim.id}`,
      );
    const ms = round(recovered - faultAt);
    console.log(`failover (${fault}): ${victim.id} → first answer from ${other.id} after ${ms} ms`);
    if (fault === 'kill') {
      await victim.process.exited;
      victim.process = await startRouter(victim.id, victim.port);
    }
    await waitUp(victim);
    return { faulted: victim.id, ms, answers_from_faulted_after_fault: fromVictim };
  };
  type FailoverRun = Awaited<ReturnType<typeof failoverRun>>;
  const failovers: FailoverRun[] = [];
  const hangs: FailoverRun[] = [];
  for (let i = 0; i < FAILOVER_RUNS; i++) {
    const [victim, other] = [routers[i % 2]!, routers[(i + 1) % 2]!];
    failovers.push(await failoverRun(victim, other, 'kill'));
    hangs.push(await failoverRun(victim, other, 'hang'));
  }
  const summarise = (runs: FailoverRun[]) => {
    const sorted = runs.map((f) => f.ms).sort((a, b) => a - b);
    return { median: round(median(sorted, (x) => x)), max: sorted.at(-1)!, runs };
  };

  const sat = median(saturation, (r) => r.decisions_per_s);
  const paced1 = median(atRate, (r) => r.latency_ms.p99);
  const result = {
    // Most decisions per second with CONCURRENCY in flight (median run).
    decisions_per_s: sat.decisions_per_s,
    // What a caller waits at RATE decisions per second (median run by p99).
    latency_ms: { p50: paced1.latency_ms.p50, p99: paced1.latency_ms.p99, at_rate_per_s: RATE },
    // Two routers serving at once, asked through the site agents' pair client.
    pair: true,
    // Kill → first answer from the other router (median run; every run in failover_ms.runs).
    failover_ms: summarise(failovers),
    // SIGSTOP → first answer from the other router: what the hedge costs a hung router's callers.
    hang_failover_ms: summarise(hangs),
    saturation_latency_ms: sat.latency_ms,
    setup: {
      sites: SITES,
      tenants: tenants.length,
      skills: skills.length,
      routers: routers.length,
      hedge_after_ms: HEDGE_MS,
      request_deadline_ms: deadlineMs,
      failover_runs: FAILOVER_RUNS,
      concurrency: CONCURRENCY,
      paced_rate_per_s: RATE,
      seconds_per_run: SECONDS,
      warmup_seconds: WARMUP_SECONDS,
      runs: RUNS,
      snapshot_interval_ms: SNAPSHOT_INTERVAL_MS,
      snapshots_sent: snapshotsSent,
      requests_sent: callNo,
      decisions_answered: answered,
      route_decisions_published: published,
      note: "the two router processes (each a gRPC server, a Kafka consumer of snapshots, call events and the other's route decisions, an idempotent producer of route decisions), one Kafka broker, the snapshot publisher and the site agents' router clients (per origin site one mutual-TLS HTTP/2 channel to each router, all in one Node process) on this machine",
    },
    runs: { saturation, paced: atRate },
  };
  console.log(
    `router pair (${SITES} sites, median of ${RUNS} runs of ${SECONDS} s): ${result.decisions_per_s} decisions/s with ${CONCURRENCY} in flight; at ${RATE}/s latency p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms; failover median ${result.failover_ms.median} ms, max ${result.failover_ms.max} ms (hung router: median ${result.hang_failover_ms.median} ms, max ${result.hang_failover_ms.max} ms) over ${FAILOVER_RUNS} runs; ${published}/${answered} decisions on the topic`,
  );
  run.writeResult(result);
});
