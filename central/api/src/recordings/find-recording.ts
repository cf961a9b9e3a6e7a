// One recording from the index for one caller, or the answer that says why not: 404 when there
// is no such recording (or it is gone: deleted by retention, or never made), 403 when it is
// another site's or tenant's. The scope is checked before what became of the recording is told.
import type { Scope } from '@ccfed/analytics/scope';
import { refuseRecordingOutOfScope } from '../access.js';
import type { RunQuery } from '../clickhouse.js';
import { HttpError } from '../http/errors.js';
import { parseRecordingRows, recordingsQuery, type Recording } from '../queries/recordings.js';

/** The id of a recording, as sites make them (site-agent/src/recording/recording-store.ts). */
export const RECORDING_ID_PATTERN =
  /^\d{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The recording `recordingId` if `scope` may hear it and it is still kept; else throws. */
export async function playableRecording(
  runQuery: RunQuery,
  scope: Scope,
  recordingId: string,
): Promise<Recording> {
  const [rec] = parseRecordingRows(
    await runQuery(recordingsQuery({ role: 'hq' }, { recordingId, limit: 1 })),
  );
  if (!rec) throw new HttpError(404, `no recording ${recordingId}`);
  refuseRecordingOutOfScope(scope, rec);
  if (rec.status === 'deleted')
    throw new HttpError(
      404,
      `recording ${recordingId} was deleted at ${rec.deletedAt} (${rec.deletedReason || 'no reason given'})`,
    );
  if (rec.status === 'failed')
    throw new HttpError(
      404,
      `call ${rec.callId} was not recorded: ${rec.failedReason ?? 'no reason given'}`,
    );
  return rec;
}
