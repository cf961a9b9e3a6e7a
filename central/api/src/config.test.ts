import { ConfigError, parseEnvConfig } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { apiConfigSchema } from './config.js';

const valid = {
  CCFED_API_SECRET: 'x'.repeat(32),
  CCFED_API_USERS: '/etc/ccfed/users.yaml',
  CCFED_CLICKHOUSE_URL: 'http://127.0.0.1:8123',
  CCFED_CLICKHOUSE_USER: 'ccfed_api',
  CCFED_CLICKHOUSE_PASSWORD: 'a-password-of-the-api-user',
};

describe('API config', () => {
  it('applies the defaults', () => {
    expect(parseEnvConfig(apiConfigSchema, valid)).toMatchObject({
      CCFED_API_HOST: '127.0.0.1',
      CCFED_API_PORT: 8080,
      CCFED_CLICKHOUSE_DATABASE: 'ccfed',
      CCFED_API_TOKEN_TTL_SECONDS: 28800,
    });
  });

  it('requires a secret of at least 32 bytes, the users file and ClickHouse, naming each', () => {
    const err = (() => {
      try {
        parseEnvConfig(apiConfigSchema, { CCFED_API_SECRET: 'too-short' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(/CCFED_API_SECRET: must be at least 32 bytes/);
    expect(err?.message).toMatch(/CCFED_API_USERS: required/);
    expect(err?.message).toMatch(/CCFED_CLICKHOUSE_URL: required/);
  });

  it('counts the secret in bytes, not characters', () => {
    // 16 three-byte characters: 48 bytes.
    expect(() =>
      parseEnvConfig(apiConfigSchema, { ...valid, CCFED_API_SECRET: '密'.repeat(16) }),
    ).not.toThrow();
    expect(() => parseEnvConfig(apiConfigSchema, { ...valid, CCFED_API_SECRET: '' })).toThrow(
      /at least 32/,
    );
  });

  it('requires its own ClickHouse login, given apart from the URL', () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseEnvConfig(apiConfigSchema, env);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const { CCFED_CLICKHOUSE_USER: _u, CCFED_CLICKHOUSE_PASSWORD: _p, ...anonymous } = valid;
    expect(problems(anonymous)).toMatch(/CCFED_CLICKHOUSE_USER: required/);
    expect(problems(anonymous)).toMatch(/CCFED_CLICKHOUSE_PASSWORD: required/);
    expect(problems({ ...valid, CCFED_CLICKHOUSE_PASSWORD: '' })).toMatch(
      /CCFED_CLICKHOUSE_PASSWORD: must not be empty/,
    );
    expect(
      problems({ ...valid, CCFED_CLICKHOUSE_URL: 'http://ccfed_api:secret@127.0.0.1:8123' }),
    ).toMatch(/CCFED_CLICKHOUSE_URL: must not carry a user or password/);
  });

  it('reads the trusted proxies and the deadlines, refusing ones that cannot work', () => {
    const c = parseEnvConfig(apiConfigSchema, {
      ...valid,
      CCFED_API_TRUSTED_PROXIES: '10.42.0.0/16, fd00::/8',
      CCFED_API_HEADERS_TIMEOUT_MS: '2000',
      CCFED_API_REQUEST_TIMEOUT_MS: '5000',
    });
    expect(c.CCFED_API_TRUSTED_PROXIES).toEqual(['10.42.0.0/16', 'fd00::/8']);
    expect(c.CCFED_API_REQUEST_TIMEOUT_MS).toBe(5000);
    expect(c.CCFED_API_IDLE_TIMEOUT_MS).toBe(120_000);
    expect(() =>
      parseEnvConfig(apiConfigSchema, { ...valid, CCFED_API_TRUSTED_PROXIES: 'the-ingress' }),
    ).toThrow(/CCFED_API_TRUSTED_PROXIES: trusted proxy the-ingress: not an IP address/);
    expect(() =>
      parseEnvConfig(apiConfigSchema, { ...valid, CCFED_API_REQUEST_TIMEOUT_MS: '0' }),
    ).toThrow(/CCFED_API_REQUEST_TIMEOUT_MS/);
    expect(() =>
      parseEnvConfig(apiConfigSchema, { ...valid, CCFED_API_REQUEST_TIMEOUT_MS: '5000' }),
    ).toThrow(/CCFED_API_HEADERS_TIMEOUT_MS: must not exceed CCFED_API_REQUEST_TIMEOUT_MS/);
  });

  it('refuses a port that is not one', () => {
    expect(() => parseEnvConfig(apiConfigSchema, { ...valid, CCFED_API_PORT: '70000' })).toThrow(
      /CCFED_API_PORT/,
    );
    expect(() => parseEnvConfig(apiConfigSchema, { ...valid, CCFED_API_PORT: 'http' })).toThrow(
      /CCFED_API_PORT/,
    );
  });

  it('requires the Kafka user, its password and the CA with the brokers, naming each', () => {
    expect(() =>
      parseEnvConfig(apiConfigSchema, { ...valid, CCFED_KAFKA_BROKERS: '127.0.0.1:9092' }),
    ).toThrow(
      /CCFED_KAFKA_USERNAME: required with CCFED_KAFKA_BROKERS[\s\S]*CCFED_KAFKA_PASSWORD: required[\s\S]*CCFED_TLS_CA: required/,
    );
    expect(
      parseEnvConfig(apiConfigSchema, {
        ...valid,
        CCFED_KAFKA_BROKERS: '127.0.0.1:9092',
        CCFED_KAFKA_USERNAME: 'api',
        CCFED_KAFKA_PASSWORD: 'secret',
        CCFED_TLS_CA: '/etc/ccfed/ca.crt',
      }),
    ).toMatchObject({ CCFED_KAFKA_BROKERS: ['127.0.0.1:9092'], CCFED_KAFKA_USERNAME: 'api' });
  });
});
