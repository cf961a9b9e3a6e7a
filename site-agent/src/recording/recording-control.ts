// The contract of pausing and resuming a call's recording (PCI), between the control API
// (grpc/recording-rpcs.ts) and the call flow, which knows which call an agent is talking on.

/** Where an agent's call's recording stands after a pause or resume. */
export interface RecordingView {
  readonly callId: string;
  readonly recordingId: string;
  readonly state: 'recording' | 'paused';
}

/** A pause or resume the call's state does not allow: no call, or not recorded. */
export class RecordingControlError extends Error {
  constructor(
    message: string,
    readonly reason: 'not_on_call' | 'not_recorded',
  ) {
    super(message);
    this.name = 'RecordingControlError';
  }
}

/** Pause and resume of an agent's call's recording; `by` names who asked (a principal). */
export interface RecordingDesk {
  recordingControl(agentId: string, op: 'pause' | 'resume', by: string): RecordingView;
}
