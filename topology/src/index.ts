export * from './schema.js';
export * from './load.js';
export * from './lookup.js';
export * from './routing-policy.js';
export * from './phone-network.js';
export * from './recording-policy.js';
