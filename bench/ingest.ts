// npm run bench:ingest — the central ingester process (central/ingester/src/index.ts) on its own
// Kafka broker and ClickHouse server, with each Kafka client library it can consume with.
// Writes bench/results/ingest.json:
//
//   events_per_s   throughput: a backlog of EVENTS messages on every topic (a generated day of a
//                  federation: call and agent events mostly, surveys, CRM events, routing decisions,
//                  snapshots) is produced first (plain producer, batches, acks -1, no compression);
//                  then the ingester starts, and the clock runs from its 'ingester_started' log
//                  line until every raw table holds exactly the rows produced AND the group has
//                  committed every offset. events / seconds. Counts must be exact, with no event
//                  id twice: the bench fails loudly otherwise.
//   freshness_ms   p50 / p99 of event time → queryable, at a steady RATE (default half the run's
//                  throughput, at most 20,000/s) for FRESHNESS_SECONDS: fresh traffic of the same
//                  mix, plus every 100 ms a marker call event (its own tenant, so the primary key
//                  finds it cheaply) stamped with the wall clock just before it is sent. A poller
//                  asks ClickHouse every 50 ms which markers it holds; a marker's freshness is the
//                  time the answer came back minus its stamp. So it includes the producer's send,
//                  the ingester's fetch wait, decode, INSERT, and up to one poll interval plus one
//                  query: an upper bound of what a dashboard would see.
//
// Each client runs RUNS times (fresh topics and database each time, dropped afterwards); the
// median run is reported per client and `client` is the one the ingester uses by default.
//
// Where the time goes (CPU profile of the ingester, --cpu-prof via BENCH_INGESTER_NODE_ARGS, on
// 2026-11-22 at load 10): it is CPU-bound, ~23 % idle. Building rows (rows.ts) ~27 %, most of it
// callEventRow (one 30-column object assembled with spreads, and the kind's payload through
// ts-proto toJSON + JSON.stringify); garbage collection ~21 %; protobuf decode ~3 %; JSON encoding
// of the INSERT body ~3 %; kafkajs ~6 %. Kafka fetch and the INSERT itself are the idle share.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createKafka, ensureTopics, groupCaughtUp, ident, silentLogger, sql } from '@ccfed/common';
import { KAFKA_CLIENTS, type KafkaClientName } from '@ccfed/ingester/consumer';
import { sinksFor } from '@ccfed/ingester/sinks';
import { allTopics, CallEvent, CustomerTier, topicNames, type TopicNames } from '@ccfed/proto';
import {
  assertRunsOnCurrentClickHouse,
  migrate,
  migratedDatabaseSetup,
  startClickHouse,
  startKafka,
} from '@ccfed/services';
import { CompressionTypes, type Producer } from 'kafkajs';
import {
  eventStream,
  type ExpectedFigures,
  type StreamMessage,
} from '../tests/support/event-stream.js';
import { percentile, round, ROOT, runBench, writeResult } from './harness.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    clients: { type: 'string', default: KAFKA_CLIENTS.join(',') },
    'freshness-seconds': { type: 'string', default: '30' },
    rate: { type: 'string', default: '0' },
    partitions: { type: 'string', default: '3' },
  },
});
const EVENTS = Number(values.events);
const RUNS = Number(values.runs);
const CLIENTS = values.clients.split(',') as KafkaClientName[];
const FRESHNESS_SECONDS = Number(values['freshness-seconds']);
const FIXED_RATE = Number(values.rate);
const PARTITIONS = Number(values.partitions);
const MAX_RATE = 20_000;
const MARKER_TENANT = 'bench-marker';
const MARKER_EVERY_MS = 100;
const POLL_MS = 50;
/** No new row for this long means the ingester is stuck: the bench fails instead of waiting. */
const STALL_MS = 60_000;
for (const c of CLIENTS) {
  if (!KAFKA_CLIENTS.includes(c)) throw new Error(`--clients: unknown client ${c}`);
}
/** Raw tables whose rows are one event each (a snapshot is one row per skill). */
const ID_TABLES = ['call_events', 'agent_events', 'surveys', 'crm_events', 'route_decisions'];
/** Every query the bench asks; checked on current ClickHouse (chdb) before anything starts. */
const QUERIES = {
  rows: (table: string) => sql`SELECT count() AS n FROM ${ident(table)}`.text,
  repeatedIds: (table: string) =>
    sql`SELECT count() - uniqExact(event_id) AS extra FROM ${ident(table)}`.text,
  markers: () => sql`SELECT call_id FROM call_events WHERE tenant_id = ${MARKER_TENANT}`.text,
};
/** Messages per call in eventStream's mix, to size the backlog. */
const MESSAGES_PER_CALL = 7.7;

interface Throughput {
  events: number;
  rows: number;
  seconds: number;
  events_per_s: number;
  produce_events_per_s: number;
}
interface Freshness {
  rate_per_s: number;
  seconds: number;
  events: number;
  markers: number;
  behind_schedule_ticks: number;
  freshness_ms: { p50: number; p99: number; max: number };
}
interface Run {
  client: KafkaClientName;
  run: number;
  loadavg_1m_before: number;
  throughput: Throughput;
  freshness: Freshness;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median<T>(list: readonly T[], by: (x: T) => number): T {
  return [...list].sort((a, b) => by(a) - by(b))[Math.floor(list.length / 2)]!;
}

/** Rows each raw table must hold for `e`. */
function tableRows(e: ExpectedFigures): Record<string, number> {
  return {
    call_events: e.callEvents,
    agent_events: e.agentEvents,
    surveys: e.surveys,
    crm_events: e.crmEvents,
    route_decisions: e.decisions,
    site_snapshots: e.snapshotRows,
  };
}

function addRows(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(a).map(([t, n]) => [t, n + (b[t] ?? 0)]));
}

async function counts(ch: ClickHouseClient, tables: readonly string[]) {
  const got: Record<string, number> = {};
  for (const t of tables) {
    const rs = await ch.query({
      query: QUERIES.rows(t),
      format: 'JSONEachRow',
    });
    got[t] = Number((await rs.json<{ n: string }>())[0]!.n);
  }
  return got;
}

/** Fails unless every table holds exactly the rows expected, each event id once. */
async function expectExact(ch: ClickHouseClient, want: Record<string, number>): Promise<void> {
  const got = await counts(ch, Object.keys(want));
  const wrong = Object.keys(want).filter((t) => got[t] !== want[t]);
  if (wrong.length > 0) {
    throw new Error(
      `not exactly once: ${wrong.map((t) => `${t} has ${got[t]} rows, expected ${want[t]}`).join('; ')}`,
    );
  }
  for (const t of ID_TABLES) {
    const rs = await ch.query({
      query: QUERIES.repeatedIds(t),
      format: 'JSONEachRow',
    });
    const extra = Number((await rs.json<{ extra: string }>())[0]!.extra);
    if (extra !== 0) throw new Error(`not exactly once: ${t} holds ${extra} event ids twice`);
  }
}

/** Whether `groupId` has committed the end offset of every partition of `topics`. */
/** Sends `messages` as fast as the broker takes them: batches, a few requests in flight. */
async function produceBacklog(producer: Producer, messages: readonly StreamMessage[]) {
  const CHUNK = 5_000;
  const IN_FLIGHT = 4;
  let next = 0;
  const worker = async () => {
    while (next < messages.length) {
      const chunk = messages.slice(next, next + CHUNK);
      next += CHUNK;
      const byTopic = new Map<string, { key: string; value: Buffer }[]>();
      for (const m of chunk) {
        const list = byTopic.get(m.topic) ?? [];
        list.push({ key: m.key, value: m.value });
        byTopic.set(m.topic, list);
      }
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, ms]) => ({ topic, messages: ms })),
      });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** The same day for another prefix: the template's messages with their topic renamed. */
function retarget(
  messages: readonly StreamMessage[],
  from: TopicNames,
  to: TopicNames,
): StreamMessage[] {
  const rename = new Map(
    (Object.keys(from) as (keyof TopicNames)[]).map((k) => [from[k], to[k]] as const),
  );
  return messages.map((m) => ({ ...m, topic: rename.get(m.topic)! }));
}

function marker(n: number, at: Date): { key: string; value: Buffer } {
  const callId = `marker-${n}`;
  const event = CallEvent.encode({
    meta: {
      eventId: `${callId}-${process.pid}`,
      tenantId: MARKER_TENANT,
      siteId: 'bench',
      eventTime: at,
      producerSequence: n,
      trace: undefined,
    },
    callId,
    skill: 'sales',
    tier: CustomerTier.CUSTOMER_TIER_STANDARD,
    customerId: 'bench',
    callerHash: 'bench',
    arrivalTime: at,
    kind: {
      $case: 'offered',
      value: {
        dialedNumber: '4001001',
        skill: 'sales',
        tier: CustomerTier.CUSTOMER_TIER_STANDARD,
        customerId: 'bench',
        callerHash: 'bench',
        arrivalTime: at,
        requestedSkill: '',
      },
    },
  }).finish();
  return { key: callId, value: Buffer.from(event) };
}

await runBench('ingest', async ({ dir, onCleanup }) => {
  await assertRunsOnCurrentClickHouse(migratedDatabaseSetup(), [
    ...[...ID_TABLES, 'site_snapshots'].map((t) => ({ name: `rows ${t}`, sql: QUERIES.rows(t) })),
    ...ID_TABLES.map((t) => ({ name: `repeated ids ${t}`, sql: QUERIES.repeatedIds(t) })),
    { name: 'markers', sql: QUERIES.markers() },
  ]);
  const kafkaEngine = await startKafka({
    dataDir: join(dir, 'kafka'),
    heapMb: 1024,
    partitions: PARTITIONS,
  });
  onCleanup(() => kafkaEngine.stop());
  const clickhouse = await startClickHouse({ dataDir: join(dir, 'clickhouse') });
  onCleanup(() => clickhouse.stop());
  const kafka = createKafka({
    brokers: kafkaEngine.brokers,
    clientId: 'bench-sites',
    log: silentLogger(),
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  onCleanup(() => producer.disconnect());

  const template = topicNames('template');
  const generatedAt = performance.now();
  const day = eventStream(template, { calls: Math.ceil(EVENTS / MESSAGES_PER_CALL), seed: 1 });
  console.log(
    `generated ${day.messages.length} messages in ${round((performance.now() - generatedAt) / 1000)} s`,
  );

  const runs: Run[] = [];
  for (let r = 1; r <= RUNS; r++) {
    for (const client of CLIENTS) {
      runs.push(await oneRun(client, r));
      const t = runs.at(-1)!;
      console.log(
        `${client} run ${r}: ${t.throughput.events_per_s} events/s (${t.throughput.events} in ${t.throughput.seconds} s); freshness at ${t.freshness.rate_per_s}/s p50 ${t.freshness.freshness_ms.p50} ms, p99 ${t.freshness.freshness_ms.p99} ms; load ${t.loadavg_1m_before}`,
      );
    }
  }

  async function oneRun(client: KafkaClientName, r: number): Promise<Run> {
    const loadBefore = round(loadavg()[0]!);
    const prefix = `bench${r}${client}`;
    const topics = topicNames(prefix);
    await ensureTopics(
      kafka,
      allTopics(topics).map((topic) => ({ topic, partitions: PARTITIONS })),
    );
    const database = `ingest_${client}_${r}`;
    await migrate(clickhouse.url, database);
    // DROP DATABASE on 18.16 waits for the merges in progress: minutes on a loaded machine.
    const ch = createClient({ url: clickhouse.url, database, request_timeout: 600_000 });
    const consumed = sinksFor(topics).map((s) => s.topic);

    // 1. The backlog, then the ingester.
    const backlog = retarget(day.messages, template, topics);
    const producedAt = performance.now();
    await produceBacklog(producer, backlog);
    const produceSeconds = (performance.now() - producedAt) / 1000;
    let want = tableRows(day.expected);
    const totalRows = Object.values(want).reduce((a, b) => a + b, 0);

    const group = `ingester-${prefix}`;
    const log = createWriteStream(join(dir, `ingester-${client}-${r}.log`));
    const ingester = spawn(
      process.execPath,
      [
        // e.g. BENCH_INGESTER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile it.
        ...(process.env.BENCH_INGESTER_NODE_ARGS ?? '').split(' ').filter(Boolean),
        '--import',
        'tsx',
        join(ROOT, 'central', 'ingester', 'src', 'index.ts'),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          LOG_LEVEL: 'info',
          CCFED_KAFKA_BROKERS: kafkaEngine.brokers.join(','),
          CCFED_TOPIC_PREFIX: prefix,
          CCFED_CLICKHOUSE_URL: clickhouse.url,
          CCFED_CLICKHOUSE_DATABASE: database,
          CCFED_CONSUMER_GROUP: group,
          CCFED_KAFKA_CLIENT: client,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    ingester.stderr.pipe(log);
    const exited = new Promise<number | null>((res) => ingester.once('exit', res));
    const stopIngester = async () => {
      if (ingester.exitCode === null) ingester.kill('SIGTERM');
      return exited;
    };
    onCleanup(async () => void (await stopIngester()));
    const started = new Promise<number>((resolve, reject) => {
      createInterface({ input: ingester.stdout }).on('line', (line) => {
        log.write(`${line}\n`);
        if (line.includes('"ingester_started"')) resolve(performance.now());
      });
      void exited.then((code) =>
        reject(new Error(`ingester exited (${code}) before starting; see its log in ${dir}`)),
      );
    });
    const t0 = await started;
    let lastStored = -1;
    let progressAt = Date.now();
    for (;;) {
      if (ingester.exitCode !== null) throw new Error(`ingester exited; see its log in ${dir}`);
      const got = await counts(ch, Object.keys(want));
      const stored = Object.values(got).reduce((a, b) => a + b, 0);
      if (stored >= totalRows && (await groupCaughtUp(kafka, group, consumed))) break;
      if (stored !== lastStored) [lastStored, progressAt] = [stored, Date.now()];
      if (Date.now() - progressAt > STALL_MS)
        throw new Error(
          `the ingester stalled at ${stored} of ${totalRows} rows for ${STALL_MS / 1000} s; see its log in ${dir}`,
        );
      await sleep(100);
    }
    const seconds = (performance.now() - t0) / 1000;
    await expectExact(ch, want);
    const throughput: Throughput = {
      events: backlog.length,
      rows: totalRows,
      seconds: round(seconds),
      events_per_s: Math.round(backlog.length / seconds),
      produce_events_per_s: Math.round(backlog.length / produceSeconds),
    };

    // 2. Freshness at a steady rate, on the same ingester, now caught up.
    const rate = FIXED_RATE || Math.min(MAX_RATE, Math.round(throughput.events_per_s / 2));
    const live = eventStream(topics, {
      calls: Math.ceil((rate * FRESHNESS_SECONDS) / MESSAGES_PER_CALL),
      seed: 1000 + r,
      day: new Date(),
    });
    const sentAt = new Map<string, number>();
    const seenAfter = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const rs = await ch.query({
          query: QUERIES.markers(),
          format: 'JSONEachRow',
        });
        const rowsSeen = await rs.json<{ call_id: string }>();
        const now = Date.now();
        for (const { call_id } of rowsSeen) {
          const at = sentAt.get(call_id);
          if (at !== undefined && !seenAfter.has(call_id)) seenAfter.set(call_id, now - at);
        }
        await sleep(POLL_MS);
      }
    })();
    const TICK_MS = 20;
    const startedAt = performance.now();
    let sent = 0;
    let markers = 0;
    let behind = 0;
    let nextMarker = startedAt;
    const inFlight = new Set<Promise<unknown>>();
    while (sent < live.messages.length) {
      const now = performance.now();
      const due = Math.min(live.messages.length, Math.floor(((now - startedAt) / 1000) * rate) + 1);
      const byTopic = new Map<string, { key: string; value: Buffer }[]>();
      for (const m of live.messages.slice(sent, due)) {
        const list = byTopic.get(m.topic) ?? [];
        list.push({ key: m.key, value: m.value });
        byTopic.set(m.topic, list);
      }
      sent = Math.max(sent, due);
      if (now >= nextMarker) {
        nextMarker += MARKER_EVERY_MS;
        const stamp = new Date();
        const m = marker(++markers, stamp);
        sentAt.set(m.key, stamp.getTime());
        const list = byTopic.get(topics.callEvents) ?? [];
        list.push(m);
        byTopic.set(topics.callEvents, list);
      }
      if (byTopic.size > 0) {
        if (inFlight.size >= 8) {
          behind++;
          await Promise.race(inFlight);
        }
        const p: Promise<unknown> = producer
          .sendBatch({
            acks: -1,
            compression: CompressionTypes.None,
            topicMessages: [...byTopic].map(([topic, ms]) => ({ topic, messages: ms })),
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(TICK_MS);
    }
    await Promise.all(inFlight);
    const sendSeconds = (performance.now() - startedAt) / 1000;
    for (const deadline = Date.now() + 30_000; seenAfter.size < markers;) {
      if (Date.now() > deadline)
        throw new Error(`only ${seenAfter.size} of ${markers} markers reached ClickHouse in 30 s`);
      await sleep(POLL_MS);
    }
    polling = false;
    await poller;
    const latencies = [...seenAfter.values()].sort((a, b) => a - b);
    const freshness: Freshness = {
      rate_per_s: rate,
      seconds: round(sendSeconds),
      events: live.messages.length + markers,
      markers,
      behind_schedule_ticks: behind,
      freshness_ms: {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.at(-1)!,
      },
    };

    // Everything, backlog and live traffic, exactly once; then a clean stop.
    want = addRows(want, {
      ...tableRows(live.expected),
      call_events: live.expected.callEvents + markers,
    });
    for (const deadline = Date.now() + 60_000; !(await groupCaughtUp(kafka, group, consumed));) {
      if (Date.now() > deadline) throw new Error('the ingester did not commit the live traffic');
      await sleep(200);
    }
    await expectExact(ch, want);
    const code = await stopIngester();
    if (code !== 0) throw new Error(`ingester exited with ${code} on SIGTERM, expected 0`);

    // Leave the next run a quiet machine: no background merges of this database.
    await ch.command({ query: sql`DROP DATABASE ${ident(database)}`.text });
    await ch.close();
    return { client, run: r, loadavg_1m_before: loadBefore, throughput, freshness };
  }

  const perClient = Object.fromEntries(
    CLIENTS.map((c) => {
      const mine = runs.filter((x) => x.client === c);
      const t = median(mine, (x) => x.throughput.events_per_s).throughput;
      const f = median(mine, (x) => x.freshness.freshness_ms.p99).freshness;
      return [
        c,
        {
          events_per_s: t.events_per_s,
          freshness_ms: { p50: f.freshness_ms.p50, p99: f.freshness_ms.p99 },
          freshness_rate_per_s: f.rate_per_s,
          runs_events_per_s: mine.map((x) => x.throughput.events_per_s),
          runs_freshness_p99_ms: mine.map((x) => x.freshness.freshness_ms.p99),
        },
      ];
    }),
  );
  const fastest = [...CLIENTS].sort(
    (a, b) => perClient[b]!.events_per_s - perClient[a]!.events_per_s,
  )[0]!;
  const others = CLIENTS.filter((c) => c !== fastest);
  const why =
    others.length === 0
      ? `${fastest}: the only client measured`
      : `${fastest} has the highest median events/s: ${others
          .map((c) => {
            const gap = perClient[fastest]!.events_per_s / perClient[c]!.events_per_s - 1;
            return `${perClient[fastest]!.events_per_s} vs ${c} ${perClient[c]!.events_per_s} (${round(gap * 100)} % apart)`;
          })
          .join(', ')}`;
  const result = {
    bench: 'ingest',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', loadavg_1m: loadavg()[0] },
    events_per_s: perClient[fastest]!.events_per_s,
    freshness_ms: perClient[fastest]!.freshness_ms,
    client: fastest,
    client_choice: why,
    clients: perClient,
    targets: {
      events_per_s: 50_000,
      freshness_p99_ms: 2_000,
      met:
        perClient[fastest]!.events_per_s >= 50_000 && perClient[fastest]!.freshness_ms.p99 < 2_000,
    },
    setup: {
      backlog_events: day.messages.length,
      backlog_rows: Object.values(tableRows(day.expected)).reduce((a, b) => a + b, 0),
      partitions_per_topic: PARTITIONS,
      runs: RUNS,
      freshness_seconds: FRESHNESS_SECONDS,
      marker_every_ms: MARKER_EVERY_MS,
      poll_ms: POLL_MS,
      note: 'one Kafka broker (KRaft, 1 GB heap), one ClickHouse 18.16 server, the ingester process and this bench (producer + poller) all on this machine; the ingester writes JSONEachRow into the raw tables and the materialized views (calls, rollups, agent intervals) run on every INSERT',
    },
    runs,
  };
  writeResult('ingest', result);
  console.log(
    `ingest: ${result.events_per_s} events/s, freshness p50 ${result.freshness_ms.p50} ms / p99 ${result.freshness_ms.p99} ms with ${fastest} → bench/results/ingest.json`,
  );
});
