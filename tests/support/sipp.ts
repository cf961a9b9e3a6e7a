import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const SIPP = '/usr/bin/sipp';
export const SCENARIOS = new URL('../sipp', import.meta.url).pathname;

export interface SippRun {
  readonly exited: Promise<{ code: number | null; output: string }>;
  stop(): Promise<void>;
}

/** Runs sipp on loopback with one of tests/sipp/*.xml; sipp's own exit code says whether every call succeeded. */
export function sipp(scenario: string, args: readonly string[]): SippRun {
  const child = spawn(
    SIPP,
    ['-sf', join(SCENARIOS, scenario), '-i', '127.0.0.1', '-bg', ...args].filter(
      (a) => a !== '-bg',
    ),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, output })),
  );
  return {
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
