// The recording RPCs of the site agent's gRPC server: AgentControl.PauseRecording and
// ResumeRecording (PCI: the agent on its own call, the site's supervisors on their agents'), and
// SiteAgent.FetchRecording (the API only: a recording decrypted and streamed, or a range of it).
// Each is authorised first (authorise.ts).
//
// Status mapping:
//   malformed agent id, recording id or tenant id                      → INVALID_ARGUMENT
//   the agent is on no call, or the call is not recorded                → FAILED_PRECONDITION
//   no such recording of that tenant here (never stored, or deleted)    → NOT_FOUND
//   this site holds no recording keys                                    → UNAVAILABLE
//   a recording that cannot be opened (key retired, file altered)        → DATA_LOSS, logged
import { peerPrincipal, principalLabel } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import { ID_PATTERN } from '@ccfed/topology';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import { RecordingControlError, type RecordingDesk } from '../recording/recording-control.js';
import type { RecordingLibrary } from '../recording/recording-library.js';
import { RECORDING_ID } from '../recording/recording-store.js';
import { SealedRecordingError } from '../recording/sealed-recording.js';
import type { RecordingRpc, SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permit, permitWho } from './permit.js';

export interface RecordingRpcDeps {
  readonly desk: RecordingDesk;
  /** The site's recordings; undefined when it holds no recording keys. */
  readonly library: RecordingLibrary | undefined;
  readonly site: SiteFacts;
  readonly log: Logger;
}

type ControlRpcs = Pick<
  siteApi.AgentControlServiceImplementation,
  'pauseRecording' | 'resumeRecording'
>;
type FetchRpc = Pick<siteApi.SiteAgentServiceImplementation, 'fetchRecording'>;

const STATES = {
  recording: siteApi.RecordingState.RECORDING_STATE_RECORDING,
  paused: siteApi.RecordingState.RECORDING_STATE_PAUSED,
} as const;

export function recordingControlRpcs({ desk, site, log }: RecordingRpcDeps): ControlRpcs {
  const control = async (
    rpc: RecordingRpc,
    agentId: string,
    context: CallContext,
  ): Promise<{ recording: siteApi.RecordingStatus }> => {
    // The person the API acts for, when it does, is who paused it.
    const { caller } = permitWho(context, site, { rpc, agentId }, log);
    if (!ID_PATTERN.test(agentId))
      throw new ServerError(Status.INVALID_ARGUMENT, `agent_id ${clip(agentId)} is malformed`);
    const by = principalLabel(caller);
    try {
      const view = desk.recordingControl(
        agentId,
        rpc === 'PauseRecording' ? 'pause' : 'resume',
        by,
      );
      return {
        recording: {
          callId: view.callId,
          recordingId: view.recordingId,
          state: STATES[view.state],
        },
      };
    } catch (err) {
      if (err instanceof RecordingControlError)
        throw new ServerError(Status.FAILED_PRECONDITION, err.message);
      throw internalError(log, rpc, err, { agentId });
    }
  };
  return {
    pauseRecording: (req, context) => control('PauseRecording', req.agentId, context),
    resumeRecording: (req, context) => control('ResumeRecording', req.agentId, context),
  };
}

/** The audio is sent in pieces of this size at most (well under gRPC's 4 MiB message limit). */
const PIECE_BYTES = 64 * 1024;

export function fetchRecordingRpc({ library, site, log }: RecordingRpcDeps): FetchRpc {
  return {
    async *fetchRecording(req, context) {
      permit(context, site, { rpc: 'FetchRecording' }, log);
      if (!RECORDING_ID.test(req.recordingId))
        throw new ServerError(
          Status.INVALID_ARGUMENT,
          `recording_id ${clip(req.recordingId)} is not a recording id`,
        );
      if (!ID_PATTERN.test(req.tenantId))
        throw new ServerError(
          Status.INVALID_ARGUMENT,
          `tenant_id ${clip(req.tenantId)} is malformed`,
        );
      if (!library)
        throw new ServerError(
          Status.UNAVAILABLE,
          `site ${site.siteId} holds no recording keys (CCFED_RECORDING_KEYS_FILE)`,
        );
      let opened;
      try {
        opened = await library.open(req.tenantId, req.recordingId);
      } catch (err) {
        if (!(err instanceof SealedRecordingError)) throw internalError(log, 'FetchRecording', err);
        log.error(
          { event: 'recording_unreadable', recordingId: req.recordingId, err },
          'a stored recording cannot be opened',
        );
        throw new ServerError(
          Status.DATA_LOSS,
          `recording ${req.recordingId} is kept at site ${site.siteId} but cannot be opened; see its log`,
        );
      }
      if (!opened)
        throw new ServerError(
          Status.NOT_FOUND,
          `site ${site.siteId} has no recording ${req.recordingId} of tenant ${req.tenantId} (never stored here, or deleted)`,
        );
      const { recording, audio } = opened;
      try {
        const total = audio.plainBytes;
        const offset = Math.min(req.offset, total);
        const end = req.length === 0 ? total : Math.min(total, offset + req.length);
        yield {
          part: {
            $case: 'info',
            value: {
              contentType: recording.contentType,
              totalBytes: total,
              offset,
              length: end - offset,
              durationMs: recording.durationMs,
            },
          },
        };
        for await (const piece of audio.read(offset, end))
          for (let at = 0; at < piece.length; at += PIECE_BYTES)
            yield { part: { $case: 'audio', value: piece.subarray(at, at + PIECE_BYTES) } };
        log.info(
          {
            event: 'recording_fetched',
            recordingId: req.recordingId,
            tenant: req.tenantId,
            offset,
            bytes: end - offset,
            by: principalLabel(peerPrincipal(context)),
          },
          'recording streamed',
        );
      } finally {
        await audio.close();
      }
    },
  };
}

function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
