// The federation the queue-experience test runs: Shanghai and Beijing as production runs them
// (each site's rtpengine, Kamailio on ccfed.cfg, the site agent process, Kafka) plus the central
// router, and the test's phones: a baresip caller and a baresip agent at Beijing, and a sipp call
// that keeps Beijing's other agent busy. Shanghai has nobody staffed, so its callers overflow to
// Beijing; Beijing's queued callers wait behind the busy agent until the test lets its baresip
// agent take them. Every site has recording keys, so the calls the example's policy records
// (Acme's: all) are recorded by the site where the agent talks, as in production.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CallEvent, RecordingEvent } from '@ccfed/proto';
import { freePort, renderPrompts, sipp, udpPortFree, type SippRun } from '@ccfed/services';
import type { Consumer } from 'kafkajs';
import { inject } from 'vitest';
import { renderTone } from '../support/audio.js';
import { startBaresips, type BaresipPhone } from '../support/baresip.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { adminKafka, READER_MAX_WAIT_MS } from '../support/kafka.js';
import { type ServiceProcess } from '../support/processes.js';
import { type RunningFederation, startFederation, startRouter } from '../support/running-site.js';

export const CALLER_HZ = 400;
export const AGENT_HZ = 1000;
/** Beijing's support number, whose callers hear Mandarin in this test. */
export const BEIJING_SUPPORT = '400200200';
/** Shanghai's support number (English): nobody is staffed there. */
export const SHANGHAI_SUPPORT = '400100200';
export const BUSY_AGENT = 'bj-busy';
export const MEDIA_AGENT = 'bj-media';

type Kind = NonNullable<CallEvent['kind']>;
/** The message of a call event kind, e.g. KindValue<'announced'> is QueueAnnounced. */
export type KindValue<K extends Kind['$case']> = Extract<Kind, { $case: K }>['value'];

export interface QueueSite {
  readonly fed: RunningFederation;
  /** This test's own directory (phones, tones, recordings it opens). */
  readonly dir: string;
  readonly caller: BaresipPhone;
  readonly agent: BaresipPhone;
  /** Every call event published so far, in arrival order. */
  readonly events: readonly CallEvent[];
  /** Every recording index event the sites published so far, in arrival order. */
  readonly recordings: readonly RecordingEvent[];
  /** The sites' recording key file (the same keys at every site of this test). */
  readonly recordingKeysFile: string;
  /** The first call event of `kind` that `match` accepts, once it has arrived, and its message. */
  event<K extends Kind['$case']>(
    kind: K,
    match: (e: CallEvent, value: KindValue<K>) => boolean,
  ): Promise<{ readonly event: CallEvent; readonly value: KindValue<K> }>;
  stop(): Promise<void>;
}

export async function startQueueSite(): Promise<QueueSite> {
  const dir = join(inject('runDir'), uniqueName('queue-media'));
  mkdirSync(dir, { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    while (stops.length) await stops.pop()!().catch(() => {});
  };
  // The phones need nothing of the federation until a call: their tones render and they start
  // while the prompts and the federation do (the agent logs in with its URI later).
  const phonesStarted = (async () => {
    const [callerTone, agentTone] = await Promise.all([
      renderTone(join(dir, `caller-${CALLER_HZ}.wav`), CALLER_HZ, 300),
      renderTone(join(dir, `agent-${AGENT_HZ}.wav`), AGENT_HZ, 300),
    ]);
    return startBaresips([
      { dir: join(dir, 'caller'), user: 'caller', microphone: callerTone },
      {
        dir: join(dir, 'agent'),
        user: MEDIA_AGENT,
        microphone: agentTone,
        autoAnswer: true,
      },
    ]);
  })();
  // A failure to start is thrown where the phones are awaited, below; until then it is held.
  phonesStarted.catch(() => {});
  // Stopped last, whatever else started: once started, or at once if they failed to.
  stops.push(() =>
    phonesStarted.then(
      (phones) => Promise.allSettled(phones.map((p) => p.stop())),
      () => undefined,
    ),
  );
  try {
    // The install step's prompts (rendered here if this checkout has not run it): the site agents
    // read them from the default directory, as in production.
    await renderPrompts(new URL('../../.ccfed/prompts', import.meta.url).pathname);
    const routerPort = await freePort();
    const recordingKeysFile = join(dir, 'recording-keys.json');
    writeFileSync(
      recordingKeysFile,
      JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }),
      { mode: 0o600 },
    );
    const fed = await startFederation({
      siteIds: ['shanghai', 'beijing'],
      env: {
        CCFED_ROUTER: `127.0.0.1:${routerPort}`,
        CCFED_RECORDING_KEYS_FILE: recordingKeysFile,
      },
      mutate: (doc) => {
        const support = doc.skills.find((s: { id: string }) => s.id === 'support');
        support.wrapUpSeconds = 0;
        // Beijing with one busy agent expects 20 s: within the 30 s a target accepts.
        support.averageHandleSeconds = 20;
        support.overflow = { expectedWaitThresholdSeconds: 30, minImprovementSeconds: 1 };
        // One ringback period, then the announcement; the next one after the test is done.
        support.queueMedia = { ringbackSeconds: 5, announceEverySeconds: 120 };
        doc.routing.reRequestIntervalSeconds = 1;
        doc.routing.tenantRestrictions = [];
        for (const site of doc.sites) site.handicapSeconds = 0;
        const shanghai = doc.sites.find((s: { id: string }) => s.id === 'shanghai');
        shanghai.agents = [];
        const beijing = doc.sites.find((s: { id: string }) => s.id === 'beijing');
        beijing.agents = [BUSY_AGENT, MEDIA_AGENT].map((id) => ({
          id,
          name: id,
          tenant: 'acme-bank',
          skills: { support: 5 },
        }));
        beijing.numbers.find((n: { number: string }) => n.number === BEIJING_SUPPORT).language =
          'zh';
      },
    });
    stops.push(() => fed.stop());

    const router: ServiceProcess = await startRouter(fed, routerPort);
    stops.push(() => router.stop());

    const events: CallEvent[] = [];
    const recordings: RecordingEvent[] = [];
    // The test's Kafka reader joins its group while Beijing's busy call is set up: the reader
    // starts from the beginning of the topics, so it misses nothing of that call.
    const started = await Promise.allSettled([
      (async () => {
        const consumer: Consumer = adminKafka('queue-media-test').consumer({
          groupId: uniqueName('queue-media'),
          maxWaitTimeInMs: READER_MAX_WAIT_MS,
        });
        await consumer.connect();
        stops.push(() => consumer.disconnect());
        await consumer.subscribe({
          topics: [fed.topics.callEvents, fed.topics.recordings],
          fromBeginning: true,
        });
        await consumer.run({
          eachMessage: async ({ topic, message }) => {
            if (topic === fed.topics.recordings)
              recordings.push(RecordingEvent.decode(message.value!));
            else events.push(CallEvent.decode(message.value!));
          },
        });
      })(),
      // Beijing's other agent takes a call that lasts the whole test (sipp, no RTP).
      (async () => {
        const beijing = fed.sites.get('beijing')!;
        const busyPort = await freePort();
        const busyPhone: SippRun = sipp('agent.xml', ['-p', String(busyPort), '-m', '1']);
        stops.push(() => busyPhone.stop());
        await waitFor('busy phone listening', async () =>
          (await udpPortFree(busyPort)) ? undefined : true,
        );
        await beijing.control.login({
          agentId: BUSY_AGENT,
          contactUri: `sip:${BUSY_AGENT}@127.0.0.1:${busyPort}`,
        });
        await beijing.control.setReady({ agentId: BUSY_AGENT });
        const busyCall = sipp('caller.xml', [
          `127.0.0.1:${beijing.kamailio.sip.port}`,
          '-p',
          String(await freePort()),
          '-s',
          BEIJING_SUPPORT,
          '-key',
          'caller',
          '8613800',
          '-m',
          '1',
          '-d',
          '900000',
        ]);
        stops.push(() => busyCall.stop());
      })(),
    ]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;

    async function event<K extends Kind['$case']>(
      kind: K,
      match: (e: CallEvent, value: KindValue<K>) => boolean,
    ): Promise<{ event: CallEvent; value: KindValue<K> }> {
      const found = await waitFor(`a ${kind} call event`, async () =>
        events.find((e) => e.kind?.$case === kind && match(e, e.kind.value as KindValue<K>)),
      );
      return { event: found, value: found.kind!.value as KindValue<K> };
    }

    await event(
      'answered',
      (e) => e.kind?.$case === 'answered' && e.kind.value.agentId === BUSY_AGENT,
    );
    const [caller, agent] = await phonesStarted;
    return { fed, dir, caller, agent, events, recordings, recordingKeysFile, event, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
