export * from './clock.js';
export * from './log.js';
export * from './lifecycle.js';
export * from './sql.js';
export * from './kafka.js';
export * from './config.js';
export * from './grpc-server.js';
export * from './telemetry.js';
