// Grafana provisioning for the dashboards: the ClickHouse data source (as ccfed's read-only Grafana
// user, its password from the environment Grafana runs in, never written here) and a file
// provider for the JSON models.
import { CLICKHOUSE_USERNAMES } from '@ccfed/common';
import { CLICKHOUSE_DATASOURCE } from './panel.js';

/** Where Grafana reads the dashboard JSON: mount or copy dashboards/generated/ there. */
export const DASHBOARDS_PATH = '/var/lib/grafana/dashboards/ccfed';

/**
 * The data source every panel names by uid. It logs in as ccfed_grafana, the user that may only
 * read (readonly=2: the plugin sets max_execution_time on every query, which readonly=1 refuses;
 * docs/security.md, "ClickHouse"). Grafana expands $VARIABLES in provisioning files from its
 * environment: CCFED_CLICKHOUSE_HOST and CCFED_CLICKHOUSE_PASSWORD (that user's password).
 */
export function datasourceProvisioning(): unknown {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'ccfed ClickHouse',
        uid: CLICKHOUSE_DATASOURCE.uid,
        type: CLICKHOUSE_DATASOURCE.type,
        access: 'proxy',
        isDefault: true,
        editable: false,
        jsonData: {
          host: '$CCFED_CLICKHOUSE_HOST',
          port: 8123,
          protocol: 'http',
          secure: false,
          username: CLICKHOUSE_USERNAMES.grafana,
          defaultDatabase: 'ccfed',
        },
        secureJsonData: {
          password: '$CCFED_CLICKHOUSE_PASSWORD',
        },
      },
    ],
  };
}

/** A file provider that loads every JSON model under DASHBOARDS_PATH into the ccfed folder. */
export function dashboardProvisioning(): unknown {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'ccfed',
        orgId: 1,
        folder: 'ccfed',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: DASHBOARDS_PATH, foldersFromFilesStructure: false },
      },
    ],
  };
}
