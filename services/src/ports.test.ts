import { describe, expect, it } from 'vitest';
import { freePort, tcpPortFree, udpPortFree } from './ports.js';

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
});
