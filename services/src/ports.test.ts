import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createServer, connect } from 'node:net';
import { freePort, freeSippMediaPort, tcpPortFree, tcpPortHeld, udpPortFree } from './ports.js';

const PORTS_MODULE = new URL('./ports.ts', import.meta.url).pathname;

/** Ports picked by another process, which stays alive while this one picks its own. */
async function pickInAnotherProcess(n: number): Promise<number[]> {
  const script = `
    const { freePort } = await import(${JSON.stringify(PORTS_MODULE)});
    const ports = [];
    for (let i = 0; i < ${n}; i++) ports.push(await freePort());
    console.log(JSON.stringify(ports));
    await new Promise((r) => setTimeout(r, 1500));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { timeout: 20_000 },
  );
  return JSON.parse(stdout) as number[];
}

describe('freePort', () => {
  it('hands out distinct ports below the kernel ephemeral range, free for TCP and UDP', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      // Linux hands ephemeral ports from 32768 up and the RTP ranges start at 16384.
      expect(port).toBeGreaterThanOrEqual(10000);
      expect(port).toBeLessThan(16384);
      expect(await tcpPortFree(port)).toBe(true);
      expect(await udpPortFree(port)).toBe(true);
    }
  });

  it('never hands out a port another live process picked and has not bound yet', async () => {
    const child = pickInAnotherProcess(300);
    // Give the child time to claim its ports before this process picks while it still runs.
    await new Promise((r) => setTimeout(r, 800));
    const mine: number[] = [];
    for (let i = 0; i < 300; i++) mine.push(await freePort());
    const theirs = await child;
    expect(theirs).toHaveLength(300);
    expect(mine.filter((p) => theirs.includes(p))).toEqual([]);
    // A second process and 600 probes: seconds on a loaded machine, which decide nothing here.
  }, 30_000);
});

describe('tcpPortHeld', () => {
  it('counts a port whose listener is gone but whose closed connection waits (TIME_WAIT) as held', async () => {
    const port = await freePort();
    expect(tcpPortHeld(port)).toBe(false);
    // The listener closes the accepted connection first, so its side (local port `port`) is the
    // one left in TIME_WAIT; then the listener itself goes.
    const server = createServer((socket) => socket.end());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    await new Promise<void>((resolve) => {
      const client = connect(port, '127.0.0.1');
      client.on('end', () => client.end());
      client.on('close', () => resolve());
    });
    await new Promise<void>((r) => server.close(() => r()));
    // Node binds with SO_REUSEADDR, so its probe calls the port free; an engine without it fails.
    expect(await tcpPortFree(port)).toBe(true);
    expect(tcpPortHeld(port)).toBe(true);
  });
});

describe('freeSippMediaPort', () => {
  it('claims the video port (media port + 2) that sipp binds too, for every process that picks', async () => {
    const audio = await freeSippMediaPort();
    // The claims every picking process reads (one file per port, holding the claimer's pid):
    // had only the first been claimed, another process could be handed audio + 2.
    for (const port of [audio, audio + 1, audio + 2]) {
      expect(readFileSync(join(tmpdir(), 'ccfed-port-claims', String(port)), 'utf8')).toBe(
        String(process.pid),
      );
    }
  });
});
