// The local federation's Kafka users: the admin (super user, set when the broker's storage is
// formatted) and one user per principal, each with a password generated on first start and kept
// in .ccfed/local/kafka-users.json (mode 0600), extended when the topology grows. Production
// keeps these in its secret store instead (docs/security.md, "Kafka").
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KAFKA_ADMIN_USER, KAFKA_SERVICE_USERS } from '@ccfed/common';
import { kafkaUserOf, newKafkaPassword, type KafkaPrincipal } from '@ccfed/services';
import type { Topology } from '@ccfed/topology';

export interface LocalKafkaUsers {
  readonly file: string;
  readonly adminPassword: string;
  /** Every principal of the federation with its password. */
  readonly users: readonly { readonly principal: KafkaPrincipal; readonly password: string }[];
  /** The password of `principal`'s user. */
  passwordOf(principal: KafkaPrincipal): string;
}

/** The users of `topology`'s federation, with the passwords kept in `file` (made on first use). */
export function localKafkaUsers(file: string, topology: Topology): LocalKafkaUsers {
  const known: Record<string, string> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  const principals: KafkaPrincipal[] = [
    ...KAFKA_SERVICE_USERS.map((role) => ({ role })),
    ...topology.sites.map((s) => ({ role: 'site' as const, site: s.id })),
  ];
  const passwords: Record<string, string> = { ...known };
  for (const user of [KAFKA_ADMIN_USER, ...principals.map(kafkaUserOf)])
    passwords[user] ??= newKafkaPassword();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // the mode above applies only when the file is created
  return {
    file,
    adminPassword: passwords[KAFKA_ADMIN_USER]!,
    users: principals.map((principal) => ({
      principal,
      password: passwords[kafkaUserOf(principal)]!,
    })),
    passwordOf: (principal) => passwords[kafkaUserOf(principal)]!,
  };
}
