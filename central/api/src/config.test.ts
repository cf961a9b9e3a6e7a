import { ConfigError, parseEnvConfig } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { apiConfigSchema } from './config.js';

const valid = {
  CCFED_API_SECRET: 'x'.repeat(32),
  CCFED_API_USERS: '/etc/ccfed/users.yaml',
  CCFED_CLICKHOUSE_URL: 'http://127.0.0.1:8123',
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
