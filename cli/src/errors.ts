/** Exit codes of every ccfed command: 0 done, 1 something out there failed, 2 the input was wrong. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2 });

/**
 * The operator asked for something that cannot be done as written (unknown command or site,
 * missing option, invalid topology file): exit 2, with what was wrong.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    /** Printed after the message, e.g. the command's usage. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The request was sound but the federation did not answer as needed (site, Kafka): exit 1. */
export class OperationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperationError';
  }
}
