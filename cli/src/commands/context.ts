import type { Output } from '../io.js';

/** What every command handler gets: its arguments after the command name, env, where to write. */
export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly io: Output;
  /** Aborted on SIGINT/SIGTERM: long-running commands (decisions --follow) stop cleanly. */
  readonly signal: AbortSignal;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly usage: string;
  /** Resolves with the exit code; throws UsageError (2) or OperationError (1). */
  run(argv: readonly string[], ctx: CommandContext): Promise<number>;
}
