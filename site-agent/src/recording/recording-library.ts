// Playback at the site: a stored recording opened with its tenant's key, for the API to stream
// (SiteAgent.FetchRecording). The tenant comes with the request and must be the recording's: a
// recording of one tenant is never opened as another's, even by a caller allowed to ask.
import type { RecordingKeyring } from './recording-keys.js';
import type { RecordingStore, StoredRecording } from './recording-store.js';
import { SealedRecording } from './sealed-recording.js';

export interface OpenedRecording {
  readonly recording: StoredRecording;
  readonly audio: SealedRecording;
}

export class RecordingLibrary {
  constructor(
    private readonly store: RecordingStore,
    private readonly keyring: RecordingKeyring,
  ) {}

  /**
   * Recording `recordingId` of `tenantId`, opened; undefined when the site has no such recording
   * of that tenant (never made, of another tenant, or deleted). Throws when it exists but cannot
   * be opened (its key retired, the file altered).
   */
  async open(tenantId: string, recordingId: string): Promise<OpenedRecording | undefined> {
    const recording = await this.store.get(tenantId, recordingId);
    if (!recording || recording.tenantId !== tenantId) return undefined;
    const audio = await SealedRecording.open(this.store.pathOf(recording.storagePath), (h) =>
      h.tenantId === tenantId && h.recordingId === recordingId
        ? this.keyring.openingKey(h.keyId, tenantId)
        : undefined,
    );
    return { recording, audio };
  }
}
