export * from './ports.js';
export * from './supervise.js';
export * from './kafka/launcher.js';
export * from './clickhouse/launcher.js';
export * from './clickhouse/migrate.js';
