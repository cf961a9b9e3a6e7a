// The central API process: reads its config and the users file, serves HTTP.
import { createClient } from '@clickhouse/client';
import { createLogger, Lifecycle, parseEnvConfig, startProcess, systemClock } from '@ccfed/common';
import { createApi } from './app.js';
import { loadUsers } from './auth/users.js';
import { clickhouseRunner } from './clickhouse.js';
import { apiConfigSchema } from './config.js';

await startProcess('api', async () => {
  const log = createLogger('api');
  const config = parseEnvConfig(apiConfigSchema);
  const users = loadUsers(config.CCFED_API_USERS);
  const lifecycle = new Lifecycle({ log });
  lifecycle.install();

  const clickhouse = createClient({
    url: config.CCFED_CLICKHOUSE_URL,
    database: config.CCFED_CLICKHOUSE_DATABASE,
  });
  const { server } = createApi({
    runQuery: clickhouseRunner(clickhouse),
    users,
    secret: config.CCFED_API_SECRET,
    tokenTtlSeconds: config.CCFED_API_TOKEN_TTL_SECONDS,
    clock: systemClock,
    log,
  });

  lifecycle.onShutdown('stop accepting requests and finish those in flight', () => server.close());
  lifecycle.onShutdown('close ClickHouse client', () => clickhouse.close());

  const port = await server.listen(config.CCFED_API_PORT, config.CCFED_API_HOST);
  log.info(
    { event: 'api_listening', host: config.CCFED_API_HOST, port, users: users.size },
    'API listening',
  );
});
