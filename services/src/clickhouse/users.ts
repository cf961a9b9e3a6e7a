// The ClickHouse users ccfed runs with, one per kind of process, each with the least rights
// ClickHouse 18.16 can express. 18.16 has no GRANT: a user's rights are its settings profile in
// users.xml (`readonly`, `allow_ddl`), so each role here is a profile. What each one can and
// cannot do, measured on 18.16, is in docs/security.md ("ClickHouse"); the launcher writes this
// file for the local, test and bench servers, and the same function prints it for production.
import { createHash, randomBytes } from 'node:crypto';
import {
  CLICKHOUSE_ROLES,
  CLICKHOUSE_USERNAMES,
  type ClickHouseLogin,
  type ClickHouseLogins,
  type ClickHouseRole,
  type ClickHouseTarget,
} from '@ccfed/common';

interface Profile {
  /** Why the role has these rights; written into users.xml for whoever reads it there. */
  readonly why: string;
  readonly settings: Readonly<Record<string, number>>;
}

/**
 * Each role's profile. `readonly=1` refuses writes, DDL, SET, settings sent with a query and
 * table functions (url(), file(), remote()); `readonly=2` the same but lets a query change
 * settings and call table functions; `allow_ddl=0` refuses CREATE/ALTER/DROP/TRUNCATE/RENAME/
 * OPTIMIZE/DETACH statements and `SET allow_ddl`, but on 18.16 not a query that sends allow_ddl=1
 * as a setting of its own (HTTP parameter or native query setting), so it stops mistakes, not a
 * process that was taken over.
 */
const PROFILES: Readonly<Record<ClickHouseRole, Profile>> = {
  admin: {
    why: 'Migrations (CREATE/ALTER), and the tests and benchmarks that set up fixtures.',
    settings: { readonly: 0, allow_ddl: 1 },
  },
  ingester: {
    why: 'INSERTs into the raw tables and SELECTs for its ledger (and system.processes). 18.16 cannot express insert-only: DDL statements are refused, but a query that sends allow_ddl=1 as its own setting gets DDL back (docs/security.md).',
    settings: { readonly: 0, allow_ddl: 0 },
  },
  analytics: {
    why: 'The scheduled jobs: INSERT ... SELECT of scores and rules, and ALTER TABLE ... DROP PARTITION of old churn runs, which 18.16 counts as DDL.',
    settings: { readonly: 0, allow_ddl: 1 },
  },
  api: {
    why: 'SELECT only: no writes, no DDL, no settings, no table functions. The API sends no settings.',
    settings: { readonly: 1 },
  },
  grafana: {
    why: 'SELECT only, but the Grafana ClickHouse plugin sets max_execution_time on every query, which readonly=1 refuses; readonly=2 lets it, and also lets a dashboard author change other settings (not readonly) and call table functions (url(), file(), remote()). No writes, no DDL.',
    settings: { readonly: 2 },
  },
};

/** The CCFED_CLICKHOUSE_* variables that give a ccfed process `target`'s login to `database`. */
export function clickhouseProcessEnv(
  target: ClickHouseTarget,
  database: string,
): Record<string, string> {
  return {
    CCFED_CLICKHOUSE_URL: target.url,
    CCFED_CLICKHOUSE_DATABASE: database,
    CCFED_CLICKHOUSE_USER: target.username,
    CCFED_CLICKHOUSE_PASSWORD: target.password,
  };
}

/** A fresh random password for each role, as every new server instance gets. */
export function generateClickHouseLogins(): ClickHouseLogins {
  return Object.fromEntries(
    CLICKHOUSE_ROLES.map((role) => [
      role,
      { username: CLICKHOUSE_USERNAMES[role], password: randomBytes(24).toString('base64url') },
    ]),
  ) as Record<ClickHouseRole, ClickHouseLogin>;
}

/** What ClickHouse stores of a password: its sha256, hex. */
export function passwordSha256(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

export interface UsersXmlOptions {
  /** Addresses (`<ip>` entries: an address or CIDR) the users may log in from. */
  readonly networks: readonly string[];
  /** When given, the only databases the users may use (production: `ccfed`). */
  readonly databases?: readonly string[];
  /**
   * Settings of the server-wide `default` profile (background pools and the like, which 18.16
   * reads from there); no user logs in with it.
   */
  readonly defaultProfile?: Readonly<Record<string, number | string>>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const NETWORK = /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/;

/**
 * users.xml for the given logins: one profile and one user per role, passwords as sha256 only,
 * and no `default` user, so nobody logs in without a password, on loopback or anywhere else.
 */
export function clickhouseUsersXml(logins: ClickHouseLogins, opts: UsersXmlOptions): string {
  if (opts.networks.length === 0) throw new Error('clickhouse users: no network to log in from');
  for (const n of opts.networks) {
    if (!NETWORK.test(n)) throw new Error(`clickhouse users: ${n} is not an address or CIDR`);
  }
  for (const d of opts.databases ?? []) {
    if (!NAME.test(d)) throw new Error(`clickhouse users: ${d} is not a database name`);
  }
  const setting = (name: string, value: number | string) =>
    `            <${name}>${value}</${name}>`;
  const profiles = [
    `        <default>\n${Object.entries(opts.defaultProfile ?? {})
      .map(([k, v]) => setting(k, v))
      .join('\n')}\n        </default>`,
    ...CLICKHOUSE_ROLES.map((role) => {
      const p = PROFILES[role];
      // Settings not named here come from the server's default profile, every user's base.
      const settings = p.settings;
      return `        <!-- ${role}: ${xmlComment(p.why)} -->
        <${profileName(role)}>
${Object.entries(settings)
  .map(([k, v]) => setting(k, v))
  .join('\n')}
        </${profileName(role)}>`;
    }),
  ].join('\n');
  const users = CLICKHOUSE_ROLES.map((role) => {
    const { username, password } = logins[role];
    if (!NAME.test(username)) throw new Error(`clickhouse users: ${username} is not a user name`);
    if (password.length < 16)
      throw new Error(
        `clickhouse users: the password of ${username} is shorter than 16 characters`,
      );
    const databases = opts.databases
      ? `\n            <allow_databases>\n${opts.databases.map((d) => `                <database>${d}</database>`).join('\n')}\n            </allow_databases>`
      : '';
    return `        <${username}>
            <password_sha256_hex>${passwordSha256(password)}</password_sha256_hex>
            <networks>
${opts.networks.map((n) => `                <ip>${n}</ip>`).join('\n')}
            </networks>
            <profile>${profileName(role)}</profile>
            <quota>default</quota>${databases}
        </${username}>`;
  }).join('\n');
  return `<?xml version="1.0"?>
<!-- Written by services/src/clickhouse/users.ts: one user per ccfed role, no default user. -->
<yandex>
    <profiles>
${profiles}
    </profiles>
    <users>
${users}
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`;
}

const profileName = (role: ClickHouseRole) => `ccfed_${role}`;
const xmlComment = (text: string) => text.replaceAll('--', '-');
