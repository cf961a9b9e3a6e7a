import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNetns } from '@ccfed/services';
import { inject } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM and wait; SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
  kill(): Promise<number | null>;
}

/** How many processes this test file has started: part of each log file's name. */
let started = 0;

/** Runs one of ccfed's own processes (e.g. central/ingester/src/index.ts) the way production does. */
export function startService(
  entry: string,
  env: Record<string, string>,
  name = entry.split('/').slice(-3, -2)[0] ?? 'service',
  opts: { readonly netns?: string } = {},
): ServiceProcess {
  const dir = join(inject('runDir'), 'services');
  mkdirSync(dir, { recursive: true });
  // Two processes of one name may start in the same millisecond (tests run side by side).
  const logFile = join(dir, `${name}-${Date.now()}-${++started}.log`);
  const out = createWriteStream(logFile);
  const { command, args } = inNetns(opts.netns, process.execPath, [
    '--import',
    'tsx',
    join(ROOT, entry),
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const stop = async (timeoutMs = 20_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  };
  return { child, logFile, exited, stop, kill };
}

/**
 * Waits until `service` has logged the structured `event` (e.g. the router's 'router_started',
 * once it answers), failing early if it exits first.
 */
export async function waitForLogEvent(
  service: ServiceProcess,
  event: string,
  timeoutMs = 60_000,
): Promise<void> {
  const line = `"event":"${event}"`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The log file appears once its stream opens, just after the process is spawned.
    if (existsSync(service.logFile) && readFileSync(service.logFile, 'utf8').includes(line)) return;
    if (service.child.exitCode !== null || service.child.signalCode !== null)
      throw new Error(`${service.logFile}: exited before logging ${event}`);
    if (Date.now() > deadline)
      throw new Error(`${service.logFile}: no ${event} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How a one-shot job ended: its exit code and everything it wrote. */
export interface JobRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one of ccfed's scheduled jobs (e.g. central/analytics/src/score-churn-cli.ts) to its end
 * as its CronJob does: with only `env` set (and PATH), nothing inherited from the test run.
 */
export function runJob(entry: string, env: Record<string, string>): Promise<JobRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
