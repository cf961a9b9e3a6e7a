// The site agent's recorder: carries out the call machine's recording effects against the site's
// rtpengine over ng, and turns each finished recording into one sealed file in the site's store
// with its index event. It needs of a call only its Call-ID and the caller's SIP From tag (to tell
// the caller's channel from the agent's), so it does not care how the call's media was anchored.
//
//   start   ng query (the caller's stream: rtpengine's port facing the caller), ng start recording
//   pause   ng stop recording (rtpengine 10.5 has no pause; the span becomes silence)
//   resume  ng start recording (a new pcap)
//   stop    ng stop recording (the call may be gone already: Kamailio deletes it at the BYE)
//   then    wait for rtpengine to close every pcap of the call (its metadata file appears), lay them
//           out as one stereo WAV from the answer to the hang-up with the pauses silent
//           (services/src/media/recording-audio.ts), seal it with the tenant's key, store it,
//           publish the `stored` index event, delete the pcaps and the WAV.
//
// Finishing is queued one at a time (tshark and sox are heavy; pcaps wait on disk meanwhile). Each
// start tells rtpengine, as the recording's metadata, what finishing needs, so recordings left
// behind by a site agent that stopped or crashed mid-call are finished from the spool when it
// starts again (recoverLeftovers). Whatever fails becomes a `failed` index event with the reason:
// a call the policy records and that has no recording is visible in ClickHouse.
import { rm } from 'node:fs/promises';
import type { Clock } from '@ccfed/common';
import type { RecordingEvent } from '@ccfed/proto';
import type { Logger } from 'pino';
import type { EventStamper } from '../events/event-meta.js';
import type { RecordingKeyring } from './recording-keys.js';
import { newRecordingId, type PausedSpan, type RecordingStore } from './recording-store.js';
import { sealFile } from './sealed-recording.js';
import { RecordingSpool, type SpoolFile } from './recording-spool.js';

/** The ng commands the recorder uses (services/src/rtpengine/ng-client.ts). */
export interface RecordingControl {
  query(ref: { readonly callId: string }): Promise<{ readonly reply: Record<string, unknown> }>;
  startRecording(ref: { readonly callId: string; readonly metadata?: string }): Promise<void>;
  stopRecording(ref: { readonly callId: string }): Promise<void>;
}

/** What the call flow tells the recorder about a call whose recording starts. */
export interface RecordedCall {
  readonly callId: string;
  /** The caller's SIP From tag: rtpengine's name for the caller. */
  readonly callerTag: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly agentId: string;
}

/** The call machine's recording effects, carried out; never throws (failures are published). */
export interface CallRecorder {
  start(call: RecordedCall): void;
  pause(callId: string, by: string): void;
  resume(callId: string, by: string): void;
  stop(callId: string, reason: 'hang_up' | 'site_agent_stopped'): void;
  /** The id of the call's recording while it is being made. */
  recordingIdOf(callId: string): string | undefined;
}

/** Publishes index events (the event publisher's recordingEvent). */
export type PublishRecordingEvent = (event: RecordingEvent) => Promise<void>;

/** The WAV maker: pcapsToStereoWav of services/src/media/recording-audio.ts. */
export type StereoWavMaker = (opts: {
  readonly pcaps: readonly string[];
  readonly callerPort: number;
  readonly out: string;
  readonly span?: { readonly startS: number; readonly endS: number };
  readonly silence?: readonly { readonly startS: number; readonly endS: number }[];
  readonly workDir?: string;
}) => Promise<{ startS: number; durationS: number }>;

export interface RecorderDeps {
  readonly siteId: string;
  readonly clock: Clock;
  readonly control: RecordingControl;
  /** rtpengine's --recording-dir. */
  readonly spoolDir: string;
  readonly store: RecordingStore;
  readonly keyring: RecordingKeyring;
  /** The tenant's retention in ms (recording-policy.ts retentionMs); undefined: none set. */
  readonly retentionMs: (tenantId: string) => number | undefined;
  readonly makeWav: StereoWavMaker;
  readonly publish: PublishRecordingEvent;
  readonly stamper: EventStamper;
  readonly log: Logger;
  /** How long to wait for rtpengine to close a call's pcaps after the hang-up. Default 15 s. */
  readonly closeTimeoutMs?: number;
}

/** A retention nobody configured (the policy vanished mid-call): kept this long, then deleted. */
const FALLBACK_RETENTION_MS = 30 * 86_400_000;

interface Active {
  readonly call: RecordedCall;
  readonly recordingId: string;
  readonly startedMs: number;
  callerPort?: number;
  pausedSince?: { readonly atMs: number; readonly by: string };
  readonly paused: PausedSpan[];
  /** The ng commands of this recording, one after the other. */
  ops: Promise<void>;
  failed: boolean;
}

export class Recorder implements CallRecorder {
  private readonly active = new Map<string, Active>();
  private readonly spool: RecordingSpool;
  /** Recordings being finished or waiting to be, by recording id. */
  private readonly finishing = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RecorderDeps) {
    this.spool = new RecordingSpool(deps.spoolDir);
  }

  recordingIdOf(callId: string): string | undefined {
    return this.active.get(callId)?.recordingId;
  }

  start(call: RecordedCall): void {
    const startedMs = this.deps.clock.now();
    const rec: Active = {
      call,
      recordingId: newRecordingId(startedMs),
      startedMs,
      paused: [],
      ops: Promise.resolve(),
      failed: false,
    };
    this.active.set(call.callId, rec);
    this.then(rec, 'start', async () => {
      if (!call.callerTag)
        throw new Error('the call has no caller From tag, so its channels cannot be told apart');
      rec.callerPort = callerPortOf(
        (await this.deps.control.query({ callId: call.callId })).reply,
        call.callerTag,
      );
      await this.deps.control.startRecording({ callId: call.callId, metadata: this.marker(rec) });
      this.deps.log.info(
        { event: 'recording_started', callId: call.callId, recordingId: rec.recordingId },
        'recording the call',
      );
    });
  }

  pause(callId: string, by: string): void {
    const rec = this.active.get(callId);
    if (!rec || rec.pausedSince) return;
    rec.pausedSince = { atMs: this.deps.clock.now(), by };
    this.then(rec, 'pause', () => this.deps.control.stopRecording({ callId }));
    this.deps.log.info(
      { event: 'recording_paused', callId, recordingId: rec.recordingId, by },
      'recording paused',
    );
  }

  resume(callId: string, by: string): void {
    const rec = this.active.get(callId);
    if (!rec?.pausedSince) return;
    this.closePause(rec, this.deps.clock.now());
    this.then(rec, 'resume', () =>
      this.deps.control.startRecording({ callId, metadata: this.marker(rec) }),
    );
    this.deps.log.info(
      { event: 'recording_resumed', callId, recordingId: rec.recordingId, by },
      'recording resumed',
    );
  }

  stop(callId: string, reason: 'hang_up' | 'site_agent_stopped'): void {
    const rec = this.active.get(callId);
    if (!rec) return;
    const endedMs = this.deps.clock.now();
    const wasPaused = rec.pausedSince !== undefined;
    this.closePause(rec, endedMs);
    this.active.delete(callId);
    this.finishing.add(rec.recordingId);
    void rec.ops
      .then(async () => {
        if (rec.failed) return void this.finishing.delete(rec.recordingId);
        if (!wasPaused)
          await this.deps.control.stopRecording({ callId }).catch((err: unknown) => {
            // Kamailio deleted the call at the BYE, which closed the recording already.
            if (!/Unknown call-id/i.test(String(err))) throw err;
          });
        this.deps.log.info(
          { event: 'recording_stopped', callId, recordingId: rec.recordingId, reason },
          'recording stopped; finishing it',
        );
        this.enqueue(rec.recordingId, () =>
          this.finish({
            recordingId: rec.recordingId,
            call: rec.call,
            startedMs: rec.startedMs,
            callerPort: rec.callerPort!,
            endedMs,
            paused: rec.paused,
          }),
        );
      })
      .catch((err: unknown) => {
        this.finishing.delete(rec.recordingId);
        void this.failed(
          rec.call,
          rec.recordingId,
          rec.startedMs,
          `could not stop: ${message(err)}`,
        );
      });
  }

  /**
   * Finishes the recordings rtpengine's spool holds that no live call is making: left behind by a
   * site agent that stopped or crashed mid-call. Their pauses are unknown (the gaps are silent
   * all the same), and they run from the first recorded packet to the last.
   */
  async recoverLeftovers(): Promise<number> {
    const live = new Set([...this.active.values()].map((r) => r.recordingId));
    const left = (await this.spool.closedRecordings()).filter(
      (r) => !live.has(r.recordingId) && !this.finishing.has(r.recordingId),
    );
    for (const r of left) {
      this.finishing.add(r.recordingId);
      this.deps.log.warn(
        { event: 'recording_recovered', callId: r.callId, recordingId: r.recordingId },
        'finishing a recording left in the spool by an earlier run',
      );
      this.enqueue(r.recordingId, () =>
        this.finish({
          recordingId: r.recordingId,
          call: r,
          startedMs: r.startedMs,
          callerPort: r.callerPort,
          paused: [],
        }),
      );
    }
    return left.length;
  }

  /** Resolves once every recording stopped so far is finished (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<void> {
    // A stop still waiting for its ng command is enqueued later: poll until none is left.
    const deadline = Date.now() + timeoutMs;
    while (this.finishing.size > 0 && Date.now() < deadline)
      await Promise.race([this.queue, new Promise((r) => setTimeout(r, 50))]);
  }

  // ---- internals -----------------------------------------------------------------------------

  /**
   * Chains an ng step of `rec`; a failure fails the recording once, publishing why, and discards
   * what rtpengine wrote of it: a pause that did not stop rtpengine would otherwise leave the card
   * number in a pcap, which a later recovery would seal without knowing of the pause.
   */
  private then(rec: Active, what: string, step: () => Promise<void>): void {
    rec.ops = rec.ops.then(async () => {
      if (rec.failed) return;
      try {
        await step();
      } catch (err) {
        rec.failed = true;
        this.active.delete(rec.call.callId);
        await this.failed(rec.call, rec.recordingId, rec.startedMs, `${what}: ${message(err)}`);
        await this.deps.control.stopRecording({ callId: rec.call.callId }).catch(() => {});
        // An open pcap unlinked is written to nowhere from then on.
        await this.spool.remove(await this.spool.filesOfCall(rec.call.callId)).catch(() => {});
      }
    });
  }

  private closePause(rec: Active, atMs: number): void {
    if (!rec.pausedSince) return;
    rec.paused.push({
      offsetMs: rec.pausedSince.atMs - rec.startedMs,
      durationMs: atMs - rec.pausedSince.atMs,
      pausedBy: rec.pausedSince.by,
    });
    rec.pausedSince = undefined;
  }

  /** What rtpengine keeps in each pcap's metadata file: enough to finish it after a restart. */
  private marker(rec: Active): string {
    return this.spool.marker({
      recordingId: rec.recordingId,
      callId: rec.call.callId,
      tenantId: rec.call.tenantId,
      skill: rec.call.skill,
      agentId: rec.call.agentId,
      startedMs: rec.startedMs,
      callerPort: rec.callerPort!,
    });
  }

  private enqueue(recordingId: string, work: () => Promise<void>): void {
    this.queue = this.queue.then(work).finally(() => this.finishing.delete(recordingId));
  }

  private async finish(r: {
    readonly recordingId: string;
    readonly call: Omit<RecordedCall, 'callerTag'>;
    readonly startedMs: number;
    readonly callerPort: number;
    /** Undefined for a recovered recording: to its last packet. */
    readonly endedMs?: number;
    readonly paused: readonly PausedSpan[];
  }): Promise<void> {
    const { store, keyring, log } = this.deps;
    const { callId, tenantId } = r.call;
    let files: readonly SpoolFile[] = [];
    const wav = `${store.workDir}/${r.recordingId}.wav`;
    const sealed = `${store.workDir}/${r.recordingId}.ccrec`;
    try {
      files = await this.spool.waitClosed(
        callId,
        r.recordingId,
        this.deps.closeTimeoutMs ?? 15_000,
      );
      const span =
        r.endedMs === undefined
          ? undefined
          : { startS: r.startedMs / 1000, endS: r.endedMs / 1000 };
      const made = await this.deps.makeWav({
        pcaps: files.map((f) => f.pcap),
        callerPort: r.callerPort,
        out: wav,
        ...(span && { span }),
        silence: r.paused.map((p) => ({
          startS: (r.startedMs + p.offsetMs) / 1000,
          endS: (r.startedMs + p.offsetMs + p.durationMs) / 1000,
        })),
        workDir: store.workDir,
      });
      const { keyId, key } = keyring.sealingKey(tenantId);
      const sizes = await sealFile({
        plainPath: wav,
        outPath: sealed,
        tenantKey: key,
        header: { recordingId: r.recordingId, tenantId, keyId, contentType: 'audio/wav' },
      });
      const startedMs = r.endedMs === undefined ? Math.round(made.startS * 1000) : r.startedMs;
      const stored = {
        recordingId: r.recordingId,
        callId,
        tenantId,
        skill: r.call.skill,
        agentId: r.call.agentId,
        startedMs,
        durationMs: Math.round(made.durationS * 1000),
        bytes: sizes.plainBytes,
        sealedBytes: sizes.sealedBytes,
        contentType: 'audio/wav',
        paused: r.paused,
        keyId,
        storagePath: store.storagePath(tenantId, r.recordingId)!,
        expiresMs: startedMs + (this.deps.retentionMs(tenantId) ?? FALLBACK_RETENTION_MS),
      };
      await store.put(sealed, stored);
      await this.deps.publish({
        meta: this.deps.stamper.stamp(tenantId),
        recordingId: r.recordingId,
        callId,
        skill: stored.skill,
        agentId: stored.agentId,
        started: new Date(startedMs),
        kind: {
          $case: 'stored',
          value: {
            durationMs: stored.durationMs,
            bytes: stored.bytes,
            sealedBytes: stored.sealedBytes,
            contentType: stored.contentType,
            paused: [...stored.paused],
            keyId,
            storagePath: stored.storagePath,
            expires: new Date(stored.expiresMs),
          },
        },
      });
      log.info(
        {
          event: 'recording_stored',
          callId,
          recordingId: r.recordingId,
          tenant: tenantId,
          durationMs: stored.durationMs,
          bytes: stored.bytes,
          paused: stored.paused.length,
        },
        'recording sealed and stored',
      );
    } catch (err) {
      await this.failed(r.call, r.recordingId, r.startedMs, `could not store: ${message(err)}`);
    } finally {
      // The audio in the clear is gone whatever happened: the pcaps, their metadata, the WAV.
      await this.spool.remove(files.length > 0 ? files : await this.spool.filesOfCall(callId));
      await rm(wav, { force: true });
      await rm(sealed, { force: true });
    }
  }

  private async failed(
    call: Omit<RecordedCall, 'callerTag'>,
    recordingId: string,
    startedMs: number,
    reason: string,
  ): Promise<void> {
    this.deps.log.warn(
      {
        event: 'recording_failed',
        callId: call.callId,
        recordingId,
        tenant: call.tenantId,
        reason,
      },
      'a call the policy records has no recording',
    );
    await this.deps
      .publish({
        meta: this.deps.stamper.stamp(call.tenantId),
        recordingId,
        callId: call.callId,
        skill: call.skill,
        agentId: call.agentId,
        started: new Date(startedMs),
        kind: { $case: 'failed', value: { reason: reason.slice(0, 500) } },
      })
      .catch((err: unknown) =>
        this.deps.log.error(
          { event: 'recording_event_lost', callId: call.callId, recordingId, err },
          'could not record a recording event',
        ),
      );
  }
}

/**
 * The recorder of a site that cannot record (no rtpengine or no keys configured): every call the
 * policy records gets a `failed` index event saying so.
 */
export class UnavailableRecorder implements CallRecorder {
  constructor(
    private readonly deps: {
      readonly reason: string;
      readonly clock: Clock;
      readonly publish: PublishRecordingEvent;
      readonly stamper: EventStamper;
      readonly log: Logger;
    },
  ) {}

  start(call: RecordedCall): void {
    const now = this.deps.clock.now();
    this.deps
      .publish({
        meta: this.deps.stamper.stamp(call.tenantId),
        recordingId: newRecordingId(now),
        callId: call.callId,
        skill: call.skill,
        agentId: call.agentId,
        started: new Date(now),
        kind: { $case: 'failed', value: { reason: this.deps.reason } },
      })
      .catch((err: unknown) =>
        this.deps.log.error(
          { event: 'recording_event_lost', callId: call.callId, err },
          'could not record a recording event',
        ),
      );
  }

  pause(): void {}
  resume(): void {}
  stop(): void {}
  recordingIdOf(): undefined {
    return undefined;
  }
}

/** rtpengine's local port of `tag`'s first audio stream: where that party sends its RTP. */
export function callerPortOf(reply: Record<string, unknown>, tag: string): number {
  const tags = reply.tags as Record<string, { medias?: { streams?: Record<string, unknown>[] }[] }>;
  const port = tags?.[tag]?.medias?.[0]?.streams?.[0]?.['local port'];
  if (typeof port !== 'number')
    throw new Error(`rtpengine knows no stream of the caller (tag ${JSON.stringify(tag)})`);
  return port;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
