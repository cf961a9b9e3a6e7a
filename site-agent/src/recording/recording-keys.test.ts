import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  deriveTenantKey,
  loadRecordingKeys,
  parseRecordingKeys,
  RecordingKeyError,
} from './recording-keys.js';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(32, 2).toString('base64');
const keyFile = (o: unknown) => JSON.stringify(o);

describe('recording keys', () => {
  it('derives one key per tenant, the same each time, different per tenant and per master key', () => {
    const master = Buffer.alloc(32, 7);
    const acme = deriveTenantKey(master, 'acme-bank');
    expect(acme).toHaveLength(32);
    expect(deriveTenantKey(master, 'acme-bank')).toEqual(acme);
    expect(deriveTenantKey(master, 'zenith-telecom')).not.toEqual(acme);
    expect(deriveTenantKey(Buffer.alloc(32, 8), 'acme-bank')).not.toEqual(acme);
    expect(acme).not.toEqual(master);
  });

  it('seals with the current master key and opens with any key held, for the tenant named only', () => {
    const ring = parseRecordingKeys(keyFile({ current: 'k2', keys: { k1: K1, k2: K2 } }), 'f');
    const sealing = ring.sealingKey('acme-bank');
    expect(sealing.keyId).toBe('k2/acme-bank');
    expect(ring.openingKey('k2/acme-bank', 'acme-bank')).toEqual(sealing.key);
    expect(ring.openingKey('k1/acme-bank', 'acme-bank')).toEqual(
      deriveTenantKey(Buffer.from(K1, 'base64'), 'acme-bank'),
    );
    // A key id of another tenant, or of a retired master key, opens nothing.
    expect(ring.openingKey('k2/zenith-telecom', 'acme-bank')).toBeUndefined();
    expect(ring.openingKey('k0/acme-bank', 'acme-bank')).toBeUndefined();
    expect(ring.ids).toEqual(['k2', 'k1']);
  });

  it('refuses a malformed key file, naming the problem', () => {
    const bad = (text: string) => () => parseRecordingKeys(text, 'keys.json');
    expect(bad('nope')).toThrow(/keys.json: not JSON/);
    expect(bad(keyFile({ current: 'k9', keys: { k1: K1 } }))).toThrow(
      'keys.json: current: key "k9" is not in keys (k1)',
    );
    expect(bad(keyFile({ current: 'k1', keys: { k1: 'c2hvcnQ=' } }))).toThrow(
      /keys\.k1: expected 32 random bytes in base64/,
    );
    expect(bad(keyFile({ current: 'k 1', keys: {} }))).toThrow(RecordingKeyError);
  });

  it('refuses a key file every user may read', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ccfed-keys-')), 'keys.json');
    writeFileSync(file, keyFile({ current: 'k1', keys: { k1: K1 } }));
    chmodSync(file, 0o644);
    expect(() => loadRecordingKeys(file)).toThrow(/open to every user \(mode 644\); chmod 600 it/);
    chmodSync(file, 0o600);
    expect(loadRecordingKeys(file).currentId).toBe('k1');
  });
});
