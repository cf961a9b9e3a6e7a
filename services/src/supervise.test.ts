import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startEngine } from './supervise.js';

/** Running, that is: neither gone nor a zombie waiting for a parent that will never reap it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits for a forked worker to write its pid. */
async function workerPid(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    await sleep(50);
  }
  throw new Error(`no worker pid in ${file}`);
}

describe('startEngine', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  // A forking engine whose main process ignores SIGTERM, as a loaded Kamailio can fail to stop
  // within its timeout: the SIGKILL that follows must reach its workers too, not leave them
  // orphaned on the site's ports.
  it('stops the workers a forking engine started when its main process has to be killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccfed-supervise-'));
    dirs.push(dir);
    const pidFile = join(dir, 'worker.pid');
    const handle = await startEngine({
      name: 'forking engine',
      command: 'bash',
      args: ['-c', `trap '' TERM; (trap '' TERM; exec sleep 600) & echo $! > ${pidFile}; wait`],
      logFile: join(dir, 'engine.log'),
      pidFile: join(dir, 'engine.pid'),
      ports: [],
      ready: async () => true,
      stopTimeoutMs: 300,
    });
    const worker = await workerPid(pidFile);
    expect(alive(worker)).toBe(true);

    await handle.stop();

    expect(alive(handle.pid)).toBe(false);
    // The kernel reaps a SIGKILLed orphan at once, but give it a moment on a loaded machine.
    for (let i = 0; i < 20 && alive(worker); i++) await sleep(50);
    expect(alive(worker)).toBe(false);
  });

  it('stops the workers an engine leaves behind when it exits on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccfed-supervise-'));
    dirs.push(dir);
    const pidFile = join(dir, 'worker.pid');
    const handle = await startEngine({
      name: 'crashing engine',
      command: 'bash',
      args: ['-c', `(exec sleep 600) & echo $! > ${pidFile}; sleep 0.5; exit 3`],
      logFile: join(dir, 'engine.log'),
      pidFile: join(dir, 'engine.pid'),
      ports: [],
      ready: async () => true,
    });
    const worker = await workerPid(pidFile);
    expect(await handle.exited).toBe(3);
    expect(alive(worker)).toBe(true);

    await handle.stop();

    for (let i = 0; i < 20 && alive(worker); i++) await sleep(50);
    expect(alive(worker)).toBe(false);
  });
});
