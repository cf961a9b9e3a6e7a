// Recording at one site, from its configuration: the recorder the call flow uses, the library
// playback reads, and the retention job. With the keys but no rtpengine the site still plays and
// expires the recordings it has, and every call its tenants' policies record gets a `failed` index
// event saying why it was not; without keys it records and plays nothing.
import { join } from 'node:path';
import type { Clock } from '@ccfed/common';
import { NgClient, pcapsToStereoWav } from '@ccfed/services';
import { retentionMs, type Topology } from '@ccfed/topology';
import type { Logger } from 'pino';
import type { SiteAgentConfig } from '../config.js';
import type { EventStamper } from '../events/event-meta.js';
import {
  Recorder,
  UnavailableRecorder,
  type CallRecorder,
  type PublishRecordingEvent,
} from './recorder.js';
import { loadRecordingKeys } from './recording-keys.js';
import { RecordingLibrary } from './recording-library.js';
import { RecordingStore } from './recording-store.js';
import { RetentionJob } from './retention-job.js';

export interface RecordingSetup {
  readonly recorder: CallRecorder;
  /** Playback of this site's recordings; undefined without keys. */
  readonly library: RecordingLibrary | undefined;
  /** Starts the retention job (and the recovery of recordings an earlier run left behind). */
  start(): void;
  /** Stops the job and lets recordings being finished end (up to `timeoutMs`). */
  stop(timeoutMs: number): Promise<void>;
}

export async function setUpRecording(deps: {
  readonly config: SiteAgentConfig;
  readonly topology: Topology;
  readonly siteId: string;
  readonly publish: PublishRecordingEvent;
  readonly stamper: EventStamper;
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<RecordingSetup> {
  const { config, topology, clock, log } = deps;
  const tenantRetention = (tenantId: string) => {
    const tenant = topology.tenants.find((t) => t.id === tenantId);
    return tenant && retentionMs(tenant);
  };
  const unavailable = (reason: string): CallRecorder => {
    if (topology.tenants.some((t) => t.recording && t.recording.calls !== 'none'))
      log.warn({ event: 'recording_unavailable', reason }, `calls will not be recorded: ${reason}`);
    return new UnavailableRecorder({
      reason,
      clock,
      publish: deps.publish,
      stamper: deps.stamper,
      log,
    });
  };
  if (!config.CCFED_RECORDING_KEYS_FILE)
    return {
      recorder: unavailable(
        `site ${deps.siteId} has no recording keys (CCFED_RECORDING_KEYS_FILE)`,
      ),
      library: undefined,
      start: () => {},
      stop: async () => {},
    };

  const keyring = loadRecordingKeys(config.CCFED_RECORDING_KEYS_FILE);
  const store = new RecordingStore(
    config.CCFED_RECORDING_DIR ?? join(config.CCFED_DATA_DIR, 'recordings'),
  );
  let recorder: CallRecorder;
  let ng: NgClient | undefined;
  if (config.CCFED_RTPENGINE_NG && config.CCFED_RTPENGINE_RECORDING_DIR) {
    const [host, port] = splitHostPort(config.CCFED_RTPENGINE_NG);
    ng = await NgClient.open({ host, port });
    recorder = new Recorder({
      siteId: deps.siteId,
      clock,
      control: ng,
      spoolDir: config.CCFED_RTPENGINE_RECORDING_DIR,
      store,
      keyring,
      retentionMs: tenantRetention,
      makeWav: pcapsToStereoWav,
      publish: deps.publish,
      stamper: deps.stamper,
      log,
    });
  } else {
    recorder = unavailable(`site ${deps.siteId} has no rtpengine (CCFED_RTPENGINE_NG)`);
  }
  const job = new RetentionJob({
    store,
    retentionMs: tenantRetention,
    publish: deps.publish,
    stamper: deps.stamper,
    clock,
    log,
    intervalMs: config.CCFED_RECORDING_SWEEP_SECONDS * 1000,
    ...(recorder instanceof Recorder && { alsoEachSweep: () => recorder.recoverLeftovers() }),
  });
  log.info(
    {
      event: 'recording_configured',
      store: store.dir,
      keys: keyring.ids,
      rtpengine: config.CCFED_RTPENGINE_NG ?? null,
    },
    'recording keys loaded',
  );
  return {
    recorder,
    library: new RecordingLibrary(store, keyring),
    start: () => job.start(),
    stop: async (timeoutMs) => {
      await job.stop();
      if (recorder instanceof Recorder) await recorder.drain(timeoutMs);
      await ng?.close();
    },
  };
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
