import { describe, expect, it } from 'vitest';
import {
  fingerprintSql,
  parseMaterializedView,
  rebuildSql,
  replacePartitionSql,
  stagingEngine,
  type DerivedTable,
} from './derived-sql.js';

const TABLE: DerivedTable = {
  database: 'ccfed',
  name: 'call_facts_local',
  partitionKey: 'toYYYYMM(event_date)',
  sortingKey: 'tenant_id, call_id',
  engineFull:
    "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/ccfed.call_facts', '{replica}') PARTITION BY toYYYYMM(event_date) ORDER BY (tenant_id, call_id) SETTINGS index_granularity = 8192",
  columns: [
    { name: 'tenant_id', type: 'String' },
    { name: 'event_date', type: 'Date' },
    { name: 'skill', type: 'AggregateFunction(max, String)' },
  ],
  views: [
    {
      name: 'call_facts_mv',
      select:
        'SELECT tenant_id, event_date, maxState(skill) AS skill FROM ccfed.call_events_local GROUP BY tenant_id, event_date',
      columns: ['tenant_id', 'event_date', 'skill'],
    },
  ],
};

describe('parseMaterializedView', () => {
  it('reads 18.16 one-line definitions, whose column types hold parentheses', () => {
    expect(
      parseMaterializedView(
        "CREATE MATERIALIZED VIEW ccfed.call_facts_mv TO ccfed.call_facts ( tenant_id String,  skill AggregateFunction(max, String),  at DateTime('Etc/UTC')) AS SELECT tenant_id, maxState(skill) AS skill FROM ccfed.call_events  GROUP BY tenant_id",
      ),
    ).toEqual({
      database: 'ccfed',
      table: 'call_facts',
      select:
        'SELECT tenant_id, maxState(skill) AS skill FROM ccfed.call_events  GROUP BY tenant_id',
    });
  });

  it('reads current ClickHouse definitions over several lines, with quoted names', () => {
    expect(
      parseMaterializedView(
        'CREATE MATERIALIZED VIEW ccfed.v TO ccfed.`t_local`\n(\n    `a` UInt64\n)\nAS SELECT count() AS a\nFROM ccfed.s',
      ),
    ).toEqual({ database: 'ccfed', table: 't_local', select: 'SELECT count() AS a\nFROM ccfed.s' });
  });

  it('reads a definition without a column list, and refuses what is not a view with TO', () => {
    expect(parseMaterializedView('CREATE MATERIALIZED VIEW v TO t AS SELECT 1 AS x')).toEqual({
      database: '',
      table: 't',
      select: 'SELECT 1 AS x',
    });
    expect(
      parseMaterializedView('CREATE MATERIALIZED VIEW v ENGINE = Memory AS SELECT 1'),
    ).toBeUndefined();
    expect(parseMaterializedView('CREATE TABLE t (x UInt8) ENGINE = Memory')).toBeUndefined();
  });
});

describe('the repair SQL', () => {
  it('stages a replicated table as its plain engine with the same keys', () => {
    expect(stagingEngine(TABLE.engineFull)).toBe(
      'AggregatingMergeTree() PARTITION BY toYYYYMM(event_date) ORDER BY (tenant_id, call_id) SETTINGS index_granularity = 8192',
    );
    expect(
      stagingEngine("ReplicatedReplacingMergeTree('/p', '{replica}', ingested_at) ORDER BY x"),
    ).toBe('ReplacingMergeTree(ingested_at) ORDER BY x');
    expect(stagingEngine('SummingMergeTree() ORDER BY x')).toBe('SummingMergeTree() ORDER BY x');
  });

  it('rebuilds one partition from each view; hashes aggregate states by value, not merge leftovers', () => {
    expect(rebuildSql(TABLE, 'stage', '202611')).toEqual([
      "INSERT INTO `ccfed`.`stage` (`tenant_id`, `event_date`, `skill`) SELECT `tenant_id`, `event_date`, `skill` FROM (SELECT tenant_id, event_date, maxState(skill) AS skill FROM ccfed.call_events_local GROUP BY tenant_id, event_date) WHERE toString(toYYYYMM(event_date)) = '202611'",
    ]);
    expect(fingerprintSql(TABLE, 'call_facts_local', '202611')).toContain(
      'cityHash64(`tenant_id`, finalizeAggregation(`skill`)) AS h FROM `ccfed`.`call_facts_local` FINAL',
    );
    // Outside an AggregatingMergeTree every column counts.
    expect(
      fingerprintSql({ ...TABLE, engineFull: 'SummingMergeTree() ORDER BY tenant_id' }, 't', '1'),
    ).toContain('cityHash64(`tenant_id`, `event_date`, finalizeAggregation(`skill`))');
    expect(fingerprintSql({ ...TABLE, partitionKey: '' }, 't', 'all')).toMatch(/FINAL WHERE 1\)$/);
  });

  it('quotes the partition id it is given', () => {
    expect(replacePartitionSql(TABLE, 'stage', "2026' OR 1")).toBe(
      "ALTER TABLE `ccfed`.`call_facts_local` REPLACE PARTITION ID '2026\\' OR 1' FROM `ccfed`.`stage`",
    );
    expect(() => rebuildSql(TABLE, 'bad name', '1')).toThrow(/not a valid ClickHouse identifier/);
  });
});
