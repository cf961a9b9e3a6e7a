// The WAN harness itself (tests/support/netns.ts): regions in their own network namespaces over a
// bridge, 30 ms one way between them where the kernel has netem; a cut drops (a TCP connect times
// out, it is not refused, and a relayed connection hears nothing); heal restores; teardown leaves
// no namespace or interface behind.
import { execFile, execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startEngine, type EngineHandle } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../support/engines.js';
import { canMakeNamespaces, startWan, wanNamespaces, type Wan } from '../support/netns.js';

const exec = promisify(execFile);
const ECHO_PORT = 7000;

/** A TCP connect from inside `netns`: how long it took, or how it failed (after timeoutMs). */
async function connectFrom(
  netns: string,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ ms?: number; error?: string }> {
  const script = `
    const s = require('node:net').connect({ host: ${JSON.stringify(host)}, port: ${port} });
    const t0 = process.hrtime.bigint();
    const done = (r) => { console.log(JSON.stringify(r)); s.destroy(); process.exit(0); };
    s.setTimeout(${timeoutMs}, () => done({ error: 'timeout' }));
    s.once('connect', () => done({ ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    s.once('error', (e) => done({ error: e.code }));`;
  const { stdout } = await exec('ip', ['netns', 'exec', netns, process.execPath, '-e', script]);
  return JSON.parse(stdout) as { ms?: number; error?: string };
}

/** One line through a relay from this (root) namespace: the echo's round trip, or a timeout. */
function echoThrough(port: number, timeoutMs: number): Promise<{ ms?: number; error?: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect({ host: '127.0.0.1', port });
    const done = (r: { ms?: number; error?: string }) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done({ error: 'timeout' }));
    s.once('connect', () => s.write('ping\n'));
    s.once('data', () => done({ ms: performance.now() - t0 }));
    s.once('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
  });
}

describe.skipIf(!canMakeNamespaces)('the WAN harness (network namespaces, netem)', () => {
  if (!canMakeNamespaces) console.warn('tests/netns need root (ip netns, tc): skipped');
  let wan: Wan;
  let echo: EngineHandle | undefined;
  let relayPort: number;
  const names = () => new Set(wanNamespaces().map((n) => n.name));

  beforeAll(async () => {
    wan = await startWan({ sites: ['shanghai', 'beijing'] });
    // An echo server at the central region's WAN address.
    echo = await startEngine({
      name: 'echo central',
      command: 'socat',
      args: [`TCP-LISTEN:${ECHO_PORT},bind=${wan.address('central')},fork,reuseaddr`, 'EXEC:cat'],
      netns: wan.netns('central'),
      logFile: join(inject('runDir'), `${uniqueName('echo')}.log`),
      pidFile: join(inject('runDir'), `${uniqueName('echo')}.pid`),
      ports: [],
      ready: async () =>
        (await connectFrom(wan.netns('central'), wan.address('central'), ECHO_PORT, 1000)).ms !==
        undefined,
    });
    // From this namespace's loopback, through Shanghai's link, to the central echo.
    relayPort = await freePort();
    await wan.relay(
      'echo',
      { netns: undefined, host: '127.0.0.1', port: relayPort },
      { netns: wan.netns('shanghai'), host: wan.address('central'), port: ECHO_PORT },
    );
  });

  afterAll(async () => {
    await echo?.stop();
    await wan?.teardown();
  });

  it('delays every region-to-region path by 30 ms one way (where the kernel has netem)', async (ctx) => {
    if (wan.delayMs === undefined) {
      console.warn('this kernel has no sch_netem: the WAN has no added delay, not measured');
      ctx.skip();
    }
    for (const site of ['shanghai', 'beijing']) {
      // A TCP connect takes one round trip: 2 × 30 ms.
      const r = await connectFrom(wan.netns(site), wan.address('central'), ECHO_PORT, 2000);
      expect(r.ms, site).toBeGreaterThanOrEqual(58);
      expect(r.ms, site).toBeLessThan(250);
    }
    const echoed = await echoThrough(relayPort, 2000);
    // Connect across the WAN, then the line there and back: two round trips.
    expect(echoed.ms).toBeGreaterThanOrEqual(118);
  });

  it('cuts a site off by dropping: a connect times out instead of being refused, other sites unaffected', async () => {
    // Not cut, a port nobody listens on is refused (a reset comes back):
    expect(
      await connectFrom(wan.netns('shanghai'), wan.address('central'), ECHO_PORT + 1, 2000),
    ).toEqual({
      error: 'ECONNREFUSED',
    });
    await wan.cut('shanghai');
    expect(
      await connectFrom(wan.netns('shanghai'), wan.address('central'), ECHO_PORT, 1500),
    ).toEqual({ error: 'timeout' });
    expect(
      await connectFrom(wan.netns('shanghai'), wan.address('central'), ECHO_PORT + 1, 1500),
    ).toEqual({ error: 'timeout' });
    expect(await connectFrom(wan.netns('central'), wan.address('shanghai'), 1, 1500)).toEqual({
      error: 'timeout',
    });
    expect(await echoThrough(relayPort, 1500)).toEqual({ error: 'timeout' });
    expect(
      (await connectFrom(wan.netns('beijing'), wan.address('central'), ECHO_PORT, 2000)).ms,
    ).toBeDefined();
  });

  it('heals: the cut site reaches the others again', async () => {
    await wan.heal('shanghai');
    expect(
      (await connectFrom(wan.netns('shanghai'), wan.address('central'), ECHO_PORT, 2000)).ms,
    ).toBeLessThan(250);
    expect((await echoThrough(relayPort, 2000)).ms).toBeDefined();
  });

  it('leaves no namespace or interface behind', async () => {
    const ours = [...names()];
    expect(ours.length).toBe(4); // wan, central, shanghai, beijing
    await echo!.stop();
    await wan.teardown();
    expect([...names()]).toEqual([]);
    const rootLinks = (
      JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
        ifname: string;
      }[]
    ).map((l) => l.ifname);
    expect(rootLinks.filter((n) => n === 'br0' || n === 'wan0' || /^r\d+$/.test(n))).toEqual([]);
  });
});
