// Who logs in to ClickHouse: one user per kind of process (services/src/clickhouse/users.ts
// writes their profiles; docs/security.md, "ClickHouse", says what each may do). The names are
// here so that every part that names a user (processes, Grafana's provisioning, the deployment)
// names the same one.

/** Who logs in to ClickHouse. */
export const CLICKHOUSE_ROLES = ['admin', 'ingester', 'analytics', 'api', 'grafana'] as const;
export type ClickHouseRole = (typeof CLICKHOUSE_ROLES)[number];

/** A ClickHouse user name and its password. */
export interface ClickHouseLogin {
  readonly username: string;
  readonly password: string;
}

export type ClickHouseLogins = Readonly<Record<ClickHouseRole, ClickHouseLogin>>;

/** Where a server is and who logs in: what migrate() and a client are given. */
export interface ClickHouseTarget extends ClickHouseLogin {
  /** HTTP interface, e.g. http://127.0.0.1:8123 (no credentials in it). */
  readonly url: string;
}

/** The user name of each role, the same on every server (deploy, docs and Grafana name them). */
export const CLICKHOUSE_USERNAMES: Readonly<Record<ClickHouseRole, string>> = {
  admin: 'ccfed_admin',
  ingester: 'ccfed_ingester',
  analytics: 'ccfed_analytics',
  api: 'ccfed_api',
  grafana: 'ccfed_grafana',
};
