// The launchers must fail clearly, never hang, and never leave a half-started engine behind.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  EngineError,
  freePort,
  newKafkaPassword,
  openPki,
  startClickHouse,
  startKafka,
  type ClickHouseInstance,
} from '@ccfed/services';
import { afterEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { uniqueName } from '../support/engines.js';

const dir = () => join(inject('runDir'), uniqueName('launcher'));
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function ping(url: string): Promise<boolean> {
  return fetch(`${url}/ping`).then(
    (r) => r.ok,
    () => false,
  );
}

describe('engine launchers', () => {
  it('refuses a second start on the same data directory while the first runs, and the first keeps running', async () => {
    const dataDir = dir();
    const first = await startClickHouse({ dataDir });
    cleanup.push(() => first.stop());
    await expect(startClickHouse({ dataDir })).rejects.toThrow(
      /clickhouse is already running \(pid \d+/,
    );
    expect(await ping(first.url)).toBe(true);
  });

  it('refuses an occupied port with a message naming it, and starts nothing', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => squatter.close(r)));
    const dataDir = dir();
    const err = await startClickHouse({ dataDir, httpPort: port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toBe(
      `clickhouse cannot start: TCP port 127.0.0.1:${port} (ClickHouse HTTP) is already in use`,
    );
    expect(existsSync(join(dataDir, 'clickhouse.pid'))).toBe(false);
  });

  it('fails fast with the engine log when the engine crashes while starting', async () => {
    const dataDir = dir();
    // A broker whose storage claims another node id cannot start.
    mkdirSync(join(dataDir, 'segments'), { recursive: true });
    writeFileSync(
      join(dataDir, 'segments', 'meta.properties'),
      'version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=7\n',
    );
    const started = Date.now();
    const err = await startKafka({
      dataDir,
      pki: await openPki(inject('pkiDir')),
      adminPassword: newKafkaPassword(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toMatch(
      /^kafka exited with code \d+ while starting; last lines of/,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('refuses at once, saying why, a Kafka storage formatted with another admin password', async () => {
    const dataDir = dir();
    const pki = await openPki(inject('pkiDir'));
    const first = await startKafka({ dataDir, pki, adminPassword: newKafkaPassword() });
    await first.stop();
    const started = Date.now();
    const err = await startKafka({ dataDir, pki, adminPassword: newKafkaPassword() }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toBe(
      `kafka in ${dataDir} refuses the admin password it was given: its storage was formatted with another one (keep the password with the data, or remove ${join(dataDir, 'segments')} to start empty)`,
    );
    // Well before the 90 s readiness deadline: it stops as soon as the broker answers.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(existsSync(join(dataDir, 'kafka.pid'))).toBe(false);
  });

  it('notices when a running engine crashes, and starts again on the same data directory', async () => {
    const dataDir = dir();
    const first: ClickHouseInstance = await startClickHouse({ dataDir });
    process.kill(first.handle.pid, 'SIGKILL');
    expect(await first.handle.exited).toBe(null);
    const again = await startClickHouse({ dataDir });
    cleanup.push(() => again.stop());
    expect(await ping(again.url)).toBe(true);
  });
});
