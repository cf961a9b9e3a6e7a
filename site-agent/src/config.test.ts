import { ConfigError, parseEnvConfig } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { siteAgentConfigSchema } from './config.js';

const BASE = {
  CCFED_TOPOLOGY: '/etc/ccfed/topology.yaml',
  CCFED_SITE: 'shanghai',
  CCFED_KAFKA_BROKERS: 'kafka:9093',
  CCFED_KAFKA_USERNAME: 'site-shanghai',
  CCFED_KAFKA_PASSWORD: 'secret',
  CCFED_TLS_CA: '/etc/ccfed/ca.crt',
  CCFED_TLS_CERT: '/etc/ccfed/site.crt',
  CCFED_TLS_KEY: '/etc/ccfed/site.key',
  CCFED_DATA_DIR: '/var/lib/ccfed',
  CCFED_FEDERATION_KEY: 'k'.repeat(32),
};

const parse = (env: Record<string, string>) =>
  parseEnvConfig(siteAgentConfigSchema, { ...BASE, ...env });

/** The configuration error's lines, or [] when the environment parses. */
function problems(env: Record<string, string>): string[] {
  try {
    parse(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError)
      return err.message
        .split('\n')
        .slice(1)
        .map((l) => l.trim());
    throw err;
  }
}

describe('site agent config: the central router', () => {
  it('takes one router or the two routers of a pair, in the order given', () => {
    expect(parse({}).CCFED_ROUTER).toBeUndefined();
    expect(parse({ CCFED_ROUTER: 'router:50051' }).CCFED_ROUTER).toEqual(['router:50051']);
    const pair = parse({ CCFED_ROUTER: 'router-a.hq:50051, router-b.hq:50051' });
    expect(pair.CCFED_ROUTER).toEqual(['router-a.hq:50051', 'router-b.hq:50051']);
    expect(pair.CCFED_ROUTER_HEDGE_MS).toBe(50);
    expect(parse({ CCFED_ROUTER_HEDGE_MS: '80' }).CCFED_ROUTER_HEDGE_MS).toBe(80);
  });

  it('refuses a malformed address list or hedge delay with a clear message', () => {
    expect(problems({ CCFED_ROUTER: 'router-a:50051,' })).toEqual([
      'CCFED_ROUTER: expected host:port of the central router, or host:port,host:port of a router pair; "" is not host:port',
    ]);
    expect(problems({ CCFED_ROUTER: 'router-a:50051;router-b' })).toEqual([
      'CCFED_ROUTER: expected host:port of the central router, or host:port,host:port of a router pair; "router-a:50051;router-b" is not host:port',
    ]);
    expect(problems({ CCFED_ROUTER: 'r:50051,r:50051' })).toEqual([
      'CCFED_ROUTER: names the same router twice (r:50051,r:50051): a pair is two different routers',
    ]);
    expect(problems({ CCFED_ROUTER_HEDGE_MS: '0' })).toEqual([
      'CCFED_ROUTER_HEDGE_MS: expected at least 1 ms',
    ]);
    expect(problems({ CCFED_ROUTER_HEDGE_MS: 'soon' })).toEqual([
      'CCFED_ROUTER_HEDGE_MS: expected milliseconds',
    ]);
  });
});
