import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundInNetns, inNetns } from './netns.js';
import { LOOPBACK, tcpPortFree, udpPortFree } from './ports.js';
import { processAlive } from './process-alive.js';

/** Why an engine could not be started or kept running; the message is meant for a person. */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface PortClaim {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  /** What the engine uses the port for, for error messages ("HTTP", "SIP"). */
  readonly role: string;
}

export interface EngineSpec {
  /** Short name for messages: "kafka", "clickhouse", "kamailio shanghai". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where the engine's stdout and stderr go. */
  readonly logFile: string;
  /** Marks the data directory as in use; a second start on it is refused while the first lives. */
  readonly pidFile: string;
  readonly ports: readonly PortClaim[];
  /**
   * Polled until it resolves true; the engine is then ready for clients. Throwing an EngineError
   * stops the engine and fails the start with that error; any other failure means not yet.
   */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /**
   * Runs the engine inside this network namespace (tests/netns: a site behind a WAN link); its
   * ports are then checked there. The namespace's owner makes and removes it.
   */
  readonly netns?: string;
}

/** A running engine. */
export interface EngineHandle {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process exits, with its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /**
   * SIGTERM, then SIGKILL after the stop timeout; resolves when the process is gone, and with it
   * every process it forked (Kamailio's workers, say), which share its process group.
   */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

// An engine must not outlive the process that started it (a test run, the start command), even
// when that process dies on an error.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child.pid!, 'SIGKILL');
  });
}

/**
 * Signals an engine's whole process group. Each engine leads its own group (spawned detached), so
 * the workers a forking engine starts (Kamailio's 30-odd) go with it: a SIGKILL to the main
 * process alone would leave them running, orphaned, holding the site's ports.
 */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Starts an engine and resolves once it is ready. Refuses clearly, without starting anything,
 * when its data directory is already in use or one of its ports is taken; fails clearly, with
 * the end of its log, when the engine exits or stays unready during start-up.
 */
export async function startEngine(spec: EngineSpec): Promise<EngineHandle> {
  await refuseIfRunning(spec);
  for (const claim of spec.ports) {
    const free =
      spec.netns !== undefined
        ? !(await boundInNetns(spec.netns, claim.port, claim.protocol, LOOPBACK))
        : claim.protocol === 'tcp'
          ? await tcpPortFree(claim.port)
          : await udpPortFree(claim.port);
    if (!free) {
      throw new EngineError(
        `${spec.name} cannot start: ${claim.protocol.toUpperCase()} port ${LOOPBACK}:${claim.port} (${claim.role}) is already in use${spec.netns === undefined ? '' : ` in network namespace ${spec.netns}`}`,
      );
    }
  }

  mkdirSync(dirname(spec.logFile), { recursive: true });
  const logFd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  const { command, args } = inNetns(spec.netns, spec.command, spec.args);
  try {
    child = spawn(command, args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', logFd, logFd],
      // Its own process group, so that stopping it stops whatever it forked (killGroup).
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  if (spawned || child.pid === undefined) {
    throw new EngineError(`${spec.name} cannot start: ${spec.command}: ${spawned?.message}`);
  }
  installExitHook();
  running.add(child);
  const pid = child.pid;
  writeFileSync(spec.pidFile, `${pid}\n`);

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      running.delete(child);
      rmSync(spec.pidFile, { force: true });
      resolve(code);
    });
  });

  const handle: EngineHandle = {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    exited,
    stop: () => stopChild(child, exited, spec.stopTimeoutMs ?? 20_000),
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exitCode !== undefined) {
      throw new EngineError(
        `${spec.name} exited with code ${exitCode} while starting; last lines of ${spec.logFile}:\n${logTail(spec.logFile)}`,
      );
    }
    let ready: boolean;
    try {
      ready = await spec.ready();
    } catch (err) {
      // An EngineError from the check says waiting cannot help (e.g. the engine refuses the
      // credentials it was given): stop now, with that reason, instead of at the deadline.
      if (!(err instanceof EngineError)) ready = false;
      else {
        await handle.stop();
        throw err;
      }
    }
    if (ready) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new EngineError(
        `${spec.name} was not ready within ${spec.readyTimeoutMs ?? 60_000} ms and was stopped; last lines of ${spec.logFile}:\n${logTail(spec.logFile)}`,
      );
    }
    await sleep(100);
  }
}

async function refuseIfRunning(spec: EngineSpec): Promise<void> {
  if (!existsSync(spec.pidFile)) return;
  const pid = Number(readFileSync(spec.pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    throw new EngineError(
      `${spec.name} is already running (pid ${pid}, pid file ${spec.pidFile}); stop it first or use another data directory`,
    );
  }
  // Left behind by an engine that died without cleaning up: not a reason to refuse.
  rmSync(spec.pidFile, { force: true });
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<void> {
  const pid = child.pid!;
  if (child.exitCode === null && child.signalCode === null) {
    // The main process alone: it shuts its workers down in order (Kafka flushes, Kamailio
    // stops its children).
    child.kill('SIGTERM');
    const escalate = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(escalate);
  }
  // Whatever it forked and left behind (it crashed, or was killed) goes too.
  killGroup(pid, 'SIGKILL');
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}
