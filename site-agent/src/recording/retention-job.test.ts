import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, silentLogger } from '@ccfed/common';
import type { RecordingEvent } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { EventStamper } from '../events/event-meta.js';
import { newRecordingId, RecordingStore, type StoredRecording } from './recording-store.js';
import { RetentionJob } from './retention-job.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');

async function storeWith(store: RecordingStore, tenantId: string, startedMs: number) {
  const recordingId = newRecordingId(startedMs);
  const sealed = join(store.workDir, `${recordingId}.ccrec`);
  writeFileSync(sealed, 'sealed audio');
  const rec: StoredRecording = {
    recordingId,
    callId: `call-${recordingId.slice(-4)}`,
    tenantId,
    skill: 'sales',
    agentId: 'bj-001',
    startedMs,
    durationMs: 60_000,
    bytes: 100,
    sealedBytes: 200,
    contentType: 'audio/wav',
    paused: [],
    keyId: `k1/${tenantId}`,
    storagePath: store.storagePath(tenantId, recordingId)!,
    expiresMs: startedMs + 90 * DAY,
  };
  await store.put(sealed, rec);
  return rec;
}

describe('the retention job', () => {
  it('deletes each tenant’s expired recordings, recording every deletion first', async () => {
    const store = new RecordingStore(mkdtempSync(join(tmpdir(), 'ccfed-store-')));
    const clock = new ManualClock(T0);
    const events: RecordingEvent[] = [];
    const retention = new Map([
      ['acme-bank', 90 * DAY],
      ['zenith-telecom', 7 * DAY],
    ]);
    const oldAcme = await storeWith(store, 'acme-bank', T0 - 100 * DAY);
    const youngAcme = await storeWith(store, 'acme-bank', T0 - 10 * DAY);
    const oldZenith = await storeWith(store, 'zenith-telecom', T0 - 8 * DAY);
    const job = new RetentionJob({
      store,
      retentionMs: (t) => retention.get(t),
      publish: async (e) => {
        // The file is still there when its deletion is recorded.
        expect(await store.get(e.meta!.tenantId, e.recordingId)).toBeDefined();
        events.push(e);
      },
      stamper: new EventStamper({ clock, siteId: 'beijing' }),
      clock,
      log: silentLogger(),
      intervalMs: 60_000,
    });
    expect(await job.sweep()).toBe(2);
    expect(events.map((e) => [e.recordingId, e.kind])).toEqual([
      [
        oldAcme.recordingId,
        { $case: 'deleted', value: { reason: 'retention', storagePath: oldAcme.storagePath } },
      ],
      [
        oldZenith.recordingId,
        { $case: 'deleted', value: { reason: 'retention', storagePath: oldZenith.storagePath } },
      ],
    ]);
    expect(events[0]).toMatchObject({
      callId: oldAcme.callId,
      agentId: 'bj-001',
      skill: 'sales',
      started: new Date(oldAcme.startedMs),
      meta: { tenantId: 'acme-bank', siteId: 'beijing' },
    });
    expect(existsSync(store.pathOf(oldAcme.storagePath))).toBe(false);
    expect(await store.get('acme-bank', oldAcme.recordingId)).toBeUndefined();
    expect(await store.get('acme-bank', youngAcme.recordingId)).toEqual(youngAcme);
    // The next sweep finds nothing more until the young one's day comes.
    expect(await job.sweep()).toBe(0);
    clock.advance(80 * DAY);
    expect(await job.sweep()).toBe(1);
    expect(events.at(-1)!.recordingId).toBe(youngAcme.recordingId);
  });
});
