export * from './ports.js';
export * from './supervise.js';
export * from './kafka/launcher.js';
export * from './clickhouse/launcher.js';
export * from './clickhouse/migrate.js';
export * from './kamailio/generate.js';
export * from './kamailio/check.js';
export * from './kamailio/launcher.js';
