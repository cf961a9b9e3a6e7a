import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

/** One step of an ordered shutdown, e.g. "stop intake" or "flush ClickHouse". */
export interface ShutdownStep {
  readonly name: string;
  run(): Promise<void> | void;
}

export interface LifecycleDeps {
  readonly log: Logger;
  /** How long the whole shutdown may take before the process exits anyway. */
  readonly shutdownTimeoutMs?: number;
  readonly exit?: (code: number) => void;
  /** Defaults to the real process; tests hand in an EventEmitter. */
  readonly processLike?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * The one lifecycle helper of every ccfed process: SIGINT/SIGTERM and unhandled errors lead to
 * the same ordered shutdown (steps run in the order they were added: stop intake, drain, flush,
 * close), then the exit code says whether the process ended cleanly.
 */
export class Lifecycle {
  private readonly steps: ShutdownStep[] = [];
  private stopping: Promise<void> | undefined;
  private readonly handlers: [string, (...args: unknown[]) => void][] = [];

  constructor(private readonly deps: LifecycleDeps) {}

  /** Adds a shutdown step; steps run in the order added. */
  onShutdown(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  /** Installs the signal and error handlers. Call once, before starting work. */
  install(): void {
    const proc = this.deps.processLike ?? process;
    const on = (event: string, fn: (...args: unknown[]) => void) => {
      proc.on(event as 'SIGINT', fn);
      this.handlers.push([event, fn]);
    };
    on('SIGINT', () => void this.shutdown('SIGINT', 0));
    on('SIGTERM', () => void this.shutdown('SIGTERM', 0));
    on('unhandledRejection', (reason) => {
      this.deps.log.fatal({ event: 'unhandled_rejection', err: reason }, 'unhandled rejection');
      void this.shutdown('unhandledRejection', 1);
    });
    on('uncaughtException', (err) => {
      this.deps.log.fatal({ event: 'uncaught_exception', err }, 'uncaught exception');
      void this.shutdown('uncaughtException', 1);
    });
  }

  /** Runs every step once, in order; a failing step is logged and the rest still run. */
  shutdown(reason: string, exitCode: number): Promise<void> {
    this.stopping ??= this.runSteps(reason, exitCode);
    return this.stopping;
  }

  private async runSteps(reason: string, exitCode: number): Promise<void> {
    const { log } = this.deps;
    const exit = this.deps.exit ?? ((code: number) => process.exit(code));
    const timeoutMs = this.deps.shutdownTimeoutMs ?? 15_000;
    log.info({ event: 'shutdown_started', reason }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ event: 'shutdown_timeout', timeoutMs }, 'shutdown took too long; exiting');
      exit(exitCode || 1);
    }, timeoutMs);
    timer.unref();
    let code = exitCode;
    for (const step of this.steps) {
      const started = Date.now();
      try {
        await step.run();
        log.info({ event: 'shutdown_step_done', step: step.name, ms: Date.now() - started });
      } catch (err) {
        code = code || 1;
        log.error({ event: 'shutdown_step_failed', step: step.name, err }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    const proc = this.deps.processLike ?? process;
    for (const [event, fn] of this.handlers) proc.off(event as 'SIGINT', fn);
    log.info({ event: 'shutdown_done', exitCode: code });
    exit(code);
  }
}

/**
 * Runs a process's start-up. An error before the process is up (bad config, bad topology, an
 * engine that cannot be reached) ends it with exit code 1 and the error's own message on stderr,
 * not a stack trace: those errors are written for the operator.
 */
export async function startProcess(name: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    const message = errorMessage(err);
    process.stderr.write(`${name} could not start: ${message}\n`);
    process.exit(1);
  }
}
