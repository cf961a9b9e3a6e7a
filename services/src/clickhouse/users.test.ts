import { describe, expect, it } from 'vitest';
import { CLICKHOUSE_ROLES } from '@ccfed/common';
import {
  clickhouseProcessEnv,
  clickhouseUsersXml,
  generateClickHouseLogins,
  passwordSha256,
} from './users.js';

/** The settings of one profile of a users.xml, as name → value. */
function profile(xml: string, name: string): Record<string, string> {
  const body = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1] ?? '';
  return Object.fromEntries([...body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1], m[2]]));
}

/** The user entries of a users.xml, by name. */
function users(xml: string): Map<string, string> {
  const section = /<users>([\s\S]*)<\/users>/.exec(xml)![1]!;
  return new Map(
    [...section.matchAll(/^ {8}<([\w.-]+)>([\s\S]*?)^ {8}<\/\1>/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

describe('ClickHouse users', () => {
  const logins = generateClickHouseLogins();
  const xml = clickhouseUsersXml(logins, { networks: ['127.0.0.1', '::1'] });

  it('has one user per role and no default user, so nobody logs in without a password', () => {
    expect([...users(xml).keys()].sort()).toEqual(
      CLICKHOUSE_ROLES.map((r) => logins[r].username).sort(),
    );
    expect(users(xml).has('default')).toBe(false);
    for (const entry of users(xml).values()) {
      expect(entry).toMatch(/<password_sha256_hex>[0-9a-f]{64}<\/password_sha256_hex>/);
      expect(entry).not.toMatch(/<password>/);
    }
  });

  it('stores only the sha256 of each password, never the password', () => {
    for (const role of CLICKHOUSE_ROLES) {
      const { username, password } = logins[role];
      expect(xml).not.toContain(password);
      expect(users(xml).get(username)).toContain(passwordSha256(password));
    }
  });

  it('gives every instance its own passwords', () => {
    const other = generateClickHouseLogins();
    for (const role of CLICKHOUSE_ROLES) {
      expect(other[role].password).not.toBe(logins[role].password);
      expect(other[role].password.length).toBeGreaterThanOrEqual(32);
    }
  });

  it('makes the API read-only (no settings), Grafana read-only with settings, the ingester without DDL', () => {
    expect(profile(xml, 'ccfed_api')).toEqual({ readonly: '1' });
    expect(profile(xml, 'ccfed_grafana')).toEqual({ readonly: '2' });
    expect(profile(xml, 'ccfed_ingester')).toEqual({ readonly: '0', allow_ddl: '0' });
    expect(profile(xml, 'ccfed_analytics')).toEqual({ readonly: '0', allow_ddl: '1' });
    expect(profile(xml, 'ccfed_admin')).toEqual({ readonly: '0', allow_ddl: '1' });
    expect(users(xml).get('ccfed_api')).toContain('<profile>ccfed_api</profile>');
  });

  it('limits where users log in from and, when asked, which databases they use', () => {
    const prod = clickhouseUsersXml(logins, { networks: ['10.20.0.0/16'], databases: ['ccfed'] });
    for (const entry of users(prod).values()) {
      expect(entry).toMatch(/<networks>\s*<ip>10\.20\.0\.0\/16<\/ip>\s*<\/networks>/);
      expect(entry).toMatch(
        /<allow_databases>\s*<database>ccfed<\/database>\s*<\/allow_databases>/,
      );
    }
  });

  it('refuses what would make a users file unsafe or broken', () => {
    expect(() => clickhouseUsersXml(logins, { networks: [] })).toThrow(/no network/);
    expect(() => clickhouseUsersXml(logins, { networks: ['any'] })).toThrow(/not an address/);
    expect(() =>
      clickhouseUsersXml(
        { ...logins, api: { username: 'ccfed_api', password: 'short' } },
        { networks: ['127.0.0.1'] },
      ),
    ).toThrow(/password of ccfed_api is shorter than 16/);
    expect(() =>
      clickhouseUsersXml(logins, { networks: ['127.0.0.1'], databases: ['x</database>'] }),
    ).toThrow(/not a database name/);
  });

  it('gives a process its login through env, apart from the URL', () => {
    expect(clickhouseProcessEnv({ url: 'http://127.0.0.1:8123', ...logins.api }, 'ccfed')).toEqual({
      CCFED_CLICKHOUSE_URL: 'http://127.0.0.1:8123',
      CCFED_CLICKHOUSE_DATABASE: 'ccfed',
      CCFED_CLICKHOUSE_USER: 'ccfed_api',
      CCFED_CLICKHOUSE_PASSWORD: logins.api.password,
    });
  });
});
