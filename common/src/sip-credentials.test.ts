import { describe, expect, it } from 'vitest';
import { parseSipSecrets, sipCredentials } from './sip-credentials.js';

describe('sipCredentials', () => {
  // auth_ephemeral's README: username "<timestamp>:<user>", password
  // base64(hmac-sha1(secret, username)). The expected value is HMAC-SHA1 computed independently
  // (`printf '%s' '1700043200:bj-001' | openssl dgst -sha1 -hmac kamailio_rules -binary | base64`).
  it('makes the username and password auth_ephemeral expects', () => {
    const c = sipCredentials({
      secret: 'kamailio_rules',
      agentId: 'bj-001',
      nowMs: 1_700_000_000_000,
    });
    expect(c.username).toBe('1700043200:bj-001');
    expect(c.password).toBe('KoRnafU006S/eeAnkchULbH4HBY=');
    expect(c.expiresAt).toBe('2023-11-15T10:13:20.000Z');
  });

  it('expires after the given lifetime, in whole seconds', () => {
    const c = sipCredentials({ secret: 's', agentId: 'a', nowMs: 1_000_999, ttlSeconds: 60 });
    expect(c.username).toBe('1060:a');
  });

  it('refuses what is not an agent id, and a missing secret', () => {
    expect(() => sipCredentials({ secret: 's', agentId: 'x@evil', nowMs: 0 })).toThrow(
      /not an agent id/,
    );
    expect(() => sipCredentials({ secret: '', agentId: 'a', nowMs: 0 })).toThrow(/no SIP secret/);
  });
});

describe('parseSipSecrets', () => {
  it('reads site id → secret and names the file and site of a bad entry', () => {
    const ok = parseSipSecrets('{"beijing":"c2VjcmV0LXNlY3JldC1zZWNyZXQ="}', 'f.json');
    expect(ok.get('beijing')).toBe('c2VjcmV0LXNlY3JldC1zZWNyZXQ=');
    expect(() => parseSipSecrets('{"beijing":"short"}', 'f.json')).toThrow(/f.json: beijing/);
    expect(() => parseSipSecrets('[]', 'f.json')).toThrow(/f.json/);
  });
});
