// The spool as rtpengine 10.5 lays it out (files written here the way it writes them: a pcap per
// start recording, its metadata file once closed, with the marker the recorder gave).
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callerPortOf } from './recorder.js';
import { RecordingSpool, type SpoolMarker } from './recording-spool.js';

const CALL = 'abc@10.0.0.1 "x"';
const ESCAPED = encodeURIComponent(CALL);

function spool() {
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-spool-'));
  mkdirSync(join(dir, 'pcaps'));
  mkdirSync(join(dir, 'metadata'));
  const s = new RecordingSpool(dir);
  const pcap = (suffix: string) =>
    writeFileSync(join(dir, 'pcaps', `${ESCAPED}-${suffix}.pcap`), 'p');
  const close = (suffix: string, marker: SpoolMarker) =>
    writeFileSync(
      join(dir, 'metadata', `rtpengine-meta-${ESCAPED}-${suffix}.txt`),
      `${join(dir, 'pcaps', `${ESCAPED}-${suffix}.pcap`)}\n\n\ncall start time: x\n\n\n${s.marker(marker)}\n`,
    );
  return { dir, s, pcap, close };
}

const MARK: SpoolMarker = {
  recordingId: '20261122-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
  callId: CALL,
  tenantId: 'acme-bank',
  skill: 'sales',
  agentId: 'bj-001',
  startedMs: 1,
  callerPort: 30000,
};

describe('the recording spool', () => {
  it('waits until every pcap of the call is closed, then gives the recording’s own', async () => {
    const { s, pcap, close } = spool();
    pcap('0000000000000001');
    close('0000000000000001', MARK);
    pcap('0000000000000002');
    await expect(s.waitClosed(CALL, MARK.recordingId, 300)).rejects.toThrow(
      /did not close .*0000000000000002\.pcap within 300 ms/,
    );
    setTimeout(() => close('0000000000000002', MARK), 100);
    const files = await s.waitClosed(CALL, MARK.recordingId, 5000);
    expect(files.map((f) => f.pcap.slice(-21))).toEqual([
      '0000000000000001.pcap',
      '0000000000000002.pcap',
    ]);
  });

  it('finds recordings left behind, not those of a call still recording', async () => {
    const { s, pcap, close } = spool();
    pcap('0000000000000001');
    close('0000000000000001', MARK);
    expect(
      (await s.closedRecordings()).map((r) => [r.recordingId, r.callerPort, r.files.length]),
    ).toEqual([[MARK.recordingId, 30000, 1]]);
    pcap('0000000000000002');
    expect(await s.closedRecordings()).toEqual([]);
  });

  it('deletes the metadata of a pcap that was discarded, finishing nothing', async () => {
    const { dir, s, close } = spool();
    close('0000000000000003', MARK);
    expect(await s.closedRecordings()).toEqual([]);
    expect(readdirSync(join(dir, 'metadata'))).toEqual([]);
  });

  it('reads rtpengine’s port facing the caller from a query', () => {
    const reply = {
      tags: { F: { medias: [{ streams: [{ 'local port': 32002 }, { 'local port': 32003 }] }] } },
    };
    expect(callerPortOf(reply, 'F')).toBe(32002);
    expect(() => callerPortOf(reply, 'G')).toThrow(
      'rtpengine knows no stream of the caller (tag "G")',
    );
  });
});
