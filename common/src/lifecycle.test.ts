import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.js';
import { silentLogger } from './log.js';

function setup() {
  const proc = new EventEmitter();
  const exits: number[] = [];
  const order: string[] = [];
  const lc = new Lifecycle({
    log: silentLogger(),
    processLike: proc as unknown as NodeJS.Process,
    exit: (code) => exits.push(code),
  });
  return { proc, exits, order, lc };
}

describe('Lifecycle', () => {
  it('runs shutdown steps in the order they were added on SIGTERM, then exits 0', async () => {
    const { proc, exits, order, lc } = setup();
    lc.onShutdown('stop intake', () => void order.push('stop intake'));
    lc.onShutdown('drain', async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('drain');
    });
    lc.onShutdown('close', () => void order.push('close'));
    lc.install();
    proc.emit('SIGTERM');
    await lc.shutdown('again', 0);
    expect(order).toEqual(['stop intake', 'drain', 'close']);
    expect(exits).toEqual([0]);
  });

  it('keeps going past a failing step and exits non-zero', async () => {
    const { exits, order, lc } = setup();
    lc.onShutdown('flush', () => {
      throw new Error('clickhouse unreachable');
    });
    lc.onShutdown('close', () => void order.push('close'));
    await lc.shutdown('test', 0);
    expect(order).toEqual(['close']);
    expect(exits).toEqual([1]);
  });

  it('shuts down with exit code 1 on an unhandled rejection', async () => {
    const { proc, exits, lc } = setup();
    lc.install();
    proc.emit('unhandledRejection', new Error('bug'));
    await lc.shutdown('again', 0);
    expect(exits).toEqual([1]);
  });
});
