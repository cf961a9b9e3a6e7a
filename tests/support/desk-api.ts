// The central API in this process, as production runs it for the agents' desktop: ClickHouse as
// its read-only user, Kafka as user api (the desktop's feed, optionally the live wall's), the
// sites through its own certificate (service:api), the SIP secrets of the sites whose browser
// agents it serves, and the built desk page at /desktop/.
import { createConsoleServer } from '@ccfed/api/app';
import { hashPassword } from '@ccfed/api/auth/password';
import { parseUsers } from '@ccfed/api/auth/users';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import { DesktopFeed } from '@ccfed/api/desktop/desktop-feed';
import { SiteDesks } from '@ccfed/api/desktop/site-desks';
import { LiveFeed } from '@ccfed/api/live/live-feed';
import { LiveState } from '@ccfed/api/live/live-state';
import { SiteMonitors } from '@ccfed/api/monitor/site-monitors';
import { silentLogger, type Logger, type Principal } from '@ccfed/common';
import type { TopicNames } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { DESKTOP_DIST } from '../../scripts/console-build.js';
import { clickhouseClient } from './engines.js';
import { kafkaAs } from './kafka.js';
import { testSipSecret } from './running-site.js';
import { tlsAs } from './security.js';

const API: Principal = { kind: 'service', service: 'api' };

/** Every desk API user's password. */
export const DESK_PASSWORD = 'correct horse battery';

/** A users-file entry, without its hash (every user has DESK_PASSWORD). */
export type DeskUser =
  | {
      readonly username: string;
      readonly role: 'agent';
      readonly siteId: string;
      readonly agentId: string;
    }
  | { readonly username: string; readonly role: 'site'; readonly siteId: string }
  | { readonly username: string; readonly role: 'tenant'; readonly tenantId: string }
  | { readonly username: string; readonly role: 'hq' };

export interface DeskApiOptions {
  /** Names the API's Kafka groups. */
  readonly name: string;
  readonly topology: Topology;
  readonly prefix: string;
  readonly topics: TopicNames;
  readonly database: string;
  readonly users: readonly DeskUser[];
  /** The live wall's agents (agent → site, tenant, skills); no live feed when absent. */
  readonly liveAgents?: ReadonlyMap<
    string,
    { readonly siteId: string; readonly tenantId: string; readonly skills: readonly string[] }
  >;
  /** Serve silent monitoring too. */
  readonly monitors?: boolean;
  /** Sites whose browser agents get SIP credentials here. */
  readonly sipSites?: readonly string[];
  readonly log?: Logger;
}

export interface DeskApi {
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly secret: string;
  stop(): Promise<void>;
}

export async function startDeskApi(opts: DeskApiOptions): Promise<DeskApi> {
  const secret = `${opts.name}-test-secret-0123456789-abcdefghijklmnop`;
  const log = opts.log ?? silentLogger();
  const clock = { now: () => Date.now() };
  const runQuery = clickhouseRunner(clickhouseClient('api', opts.database));
  const live = opts.liveAgents
    ? new LiveFeed({
        kafka: await kafkaAs({ role: 'api' }, opts.prefix, `${opts.name}-live`),
        topics: opts.topics,
        runQuery,
        state: new LiveState(new Map(opts.liveAgents)),
        clock,
        log,
      })
    : undefined;
  const desktop = new DesktopFeed({
    kafka: await kafkaAs({ role: 'api' }, opts.prefix, `${opts.name}-feed`),
    topics: opts.topics,
    runQuery,
    clock,
    log,
  });
  await Promise.all([live?.start(), desktop.start()]);
  const tls = await tlsAs(API);
  const siteDesks = new SiteDesks({ topology: opts.topology, tls });
  const siteMonitors = opts.monitors
    ? new SiteMonitors({ topology: opts.topology, tls })
    : undefined;
  const hash = await hashPassword(DESK_PASSWORD);
  const users = parseUsers(
    `users:\n${opts.users
      .map((u) => `  - ${JSON.stringify({ ...u, passwordHash: hash })}`)
      .join('\n')}\n`,
    'users.yaml',
  );
  const { server } = createConsoleServer({
    runQuery,
    users,
    secret,
    tokenTtlSeconds: 3600,
    clock,
    log,
    live,
    desktop,
    siteDesks,
    ...(siteMonitors ? { siteMonitors } : {}),
    topology: opts.topology,
    sipSecrets: new Map((opts.sipSites ?? []).map((s) => [s, testSipSecret(s)])),
    desktopDir: DESKTOP_DIST,
  });
  const base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  return {
    base,
    secret,
    stop: async () => {
      await server.close();
      siteDesks.close();
      siteMonitors?.close();
      await desktop.stop();
      await live?.stop();
    },
  };
}
