// The site agent as a process: it refuses bad configuration before touching anything, and once
// up it publishes its site snapshot to Kafka at least every second.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiteSnapshot, type TopicNames } from '@ccfed/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshTopics, uniqueName } from '../support/engines.js';
import { adminKafka, kafkaBrokers, kafkaEnv, READER_MAX_WAIT_MS } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';
import { TEST_FEDERATION_KEY, writeTopology } from '../support/running-site.js';
import { tlsEnv } from '../support/security.js';
import { EXAMPLE_TOPOLOGY } from '../support/topology.js';
import { readFileSync } from 'node:fs';

/** Starts a site agent that must refuse to start; a variable given as undefined is left unset. */
async function failedStart(
  env: Record<string, string | undefined>,
  withFederationKey = true,
): Promise<{ code: number | null; log: string }> {
  const merged: Record<string, string | undefined> = {
    CCFED_DATA_DIR: join(inject('runDir'), uniqueName('site-agent-bad')),
    // A valid certificate and Kafka login (never used: each case fails before connecting), so
    // that each case fails for the reason it is about.
    ...(await tlsEnv({ kind: 'site', site: 'beijing' })),
    CCFED_KAFKA_USERNAME: 'site-beijing',
    CCFED_KAFKA_PASSWORD: 'not-used-the-process-stops-first',
    ...(withFederationKey ? { CCFED_FEDERATION_KEY: TEST_FEDERATION_KEY } : {}),
    ...env,
  };
  const p = startService(
    'site-agent/src/index.ts',
    Object.fromEntries(
      Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    'site-agent-bad',
  );
  const code = await p.exited;
  await new Promise((r) => setTimeout(r, 50));
  return { code, log: readFileSync(p.logFile, 'utf8') };
}

describe('site agent process', () => {
  let topics: TopicNames;
  let prefix: string;
  let agent: ServiceProcess;
  /** Kafka for site guangzhou, which every test here names or starts. */
  let kafka: Record<string, string>;

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    kafka = await kafkaEnv({ role: 'site', site: 'guangzhou' }, prefix);
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it.concurrent(
    'refuses an invalid topology file with one message naming the file and the path, and exits 1',
    async () => {
      const doc = readFileSync(EXAMPLE_TOPOLOGY, 'utf8').replace(
        'skills: { sales: 8, support: 5 }',
        'skills: { fraud: 8 }',
      );
      const file = join(inject('runDir'), `${uniqueName('bad-topology')}.yaml`);
      writeFileSync(file, doc);
      const { code, log } = await failedStart({
        CCFED_TOPOLOGY: file,
        CCFED_SITE: 'shanghai',
        ...kafka,
      });
      expect(code).toBe(1);
      expect(log).toContain(`site-agent could not start: invalid topology file ${file}:`);
      expect(log).toContain('sites[0].agents[0].skills.fraud: unknown skill "fraud"');
      expect(log).not.toMatch(/\n\s+at /); // no stack trace
    },
  );

  it.concurrent('refuses a site id the topology does not have, naming the known ones', async () => {
    const { code, log } = await failedStart({
      CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
      CCFED_SITE: 'lhasa',
      ...kafka,
    });
    expect(code).toBe(1);
    expect(log).toContain('unknown site "lhasa" (the topology has: shanghai, beijing, guangzhou)');
  });

  it.concurrent(
    'refuses a malformed Kafka broker list, and no Kafka user, password or CA',
    async () => {
      const { code, log } = await failedStart({
        CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
        CCFED_SITE: 'beijing',
        CCFED_KAFKA_BROKERS: 'localhost',
        CCFED_KAFKA_USERNAME: undefined,
        CCFED_KAFKA_PASSWORD: undefined,
        CCFED_TLS_CA: undefined,
      });
      expect(code).toBe(1);
      expect(log).toContain('CCFED_KAFKA_BROKERS: expected host:port[,host:port...]');
      expect(log).toContain("CCFED_KAFKA_USERNAME: required: this process's Kafka user");
      expect(log).toContain("CCFED_KAFKA_PASSWORD: required: the Kafka user's SCRAM password");
      expect(log).toContain("CCFED_TLS_CA: required: path of the federation CA's certificate");
    },
  );

  it.concurrent(
    'refuses to start without its certificate, or with a certificate for another site',
    async () => {
      const noTls = await failedStart({
        CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
        CCFED_SITE: 'beijing',
        CCFED_KAFKA_BROKERS: kafkaBrokers().join(','),
        CCFED_TLS_CA: '',
        CCFED_TLS_CERT: '',
        CCFED_TLS_KEY: '',
      });
      expect(noTls.code).toBe(1);
      expect(noTls.log).toContain('site-agent could not start: invalid configuration');
      expect(noTls.log).toMatch(/CCFED_TLS_CERT: /);

      const shanghai = await failedStart({
        CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
        CCFED_SITE: 'beijing',
        // a Kafka login, so that the certificate is what it fails on
        ...kafka,
        ...(await tlsEnv({ kind: 'site', site: 'shanghai' })),
      });
      expect(shanghai.code).toBe(1);
      expect(shanghai.log).toMatch(
        /names site:shanghai; the site agent of beijing needs a certificate for site:beijing/,
      );
      expect(shanghai.log).not.toMatch(/\n\s+at /);
    },
  );

  it.concurrent('refuses to start without a federation key of at least 32 bytes', async () => {
    const base = {
      CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
      CCFED_SITE: 'beijing',
      CCFED_KAFKA_BROKERS: kafkaBrokers().join(','),
    };
    const [missing, short] = await Promise.all([
      failedStart(base, false),
      failedStart({ ...base, CCFED_FEDERATION_KEY: 'too-short' }),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.log).toContain(
      'CCFED_FEDERATION_KEY: required: the federation key that signs overflowed calls (32+ bytes)',
    );
    expect(short.code).toBe(1);
    expect(short.log).toContain('CCFED_FEDERATION_KEY: must be at least 32 bytes');
  });

  it('publishes snapshots of its skills, keyed by site, at least every second', async () => {
    agent = startService(
      'site-agent/src/index.ts',
      {
        CCFED_TOPOLOGY: (await writeTopology()).file,
        CCFED_SITE: 'guangzhou',
        ...kafka,
        CCFED_TOPIC_PREFIX: prefix,
        CCFED_DATA_DIR: join(inject('runDir'), uniqueName('site-agent')),
        ...(await tlsEnv({ kind: 'site', site: 'guangzhou' })),
        CCFED_FEDERATION_KEY: TEST_FEDERATION_KEY,
      },
      'site-agent',
    );
    const consumer = adminKafka('snapshot-reader').consumer({
      groupId: uniqueName('snapshots'),
      maxWaitTimeInMs: READER_MAX_WAIT_MS,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.siteSnapshots, fromBeginning: true });
    const seen: { key: string; snap: SiteSnapshot }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({
          key: String(message.key),
          snap: SiteSnapshot.decode(message.value!),
        });
      },
    });
    const deadline = Date.now() + 30_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    expect(seen.length).toBeGreaterThanOrEqual(3);
    const last = seen.at(-1)!;
    expect(last.key).toBe('guangzhou');
    expect(last.snap.meta?.siteId).toBe('guangzhou');
    expect(last.snap.skills.map((s) => s.skill)).toEqual(['sales', 'support', 'complaints']);
    // Nobody has logged in: no one is staffed, and a new call could not be answered here.
    expect(last.snap.skills.every((s) => s.agentsStaffed === 0 && s.queued === 0)).toBe(true);
    expect(seen.map((s) => s.snap.sequence)).toEqual(seen.map((_, i) => i + 1));
    // Cadence as the site agent stamped it (delivery to this consumer may bunch up under load).
    const stamped = seen.map((s) => s.snap.meta!.eventTime!.getTime());
    const gaps = stamped.slice(1).map((t, i) => t - stamped[i]!);
    expect(Math.max(...gaps)).toBeLessThan(2_000);
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await agent.stop()).toBe(0);
  });
});
