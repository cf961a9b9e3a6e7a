export * from './signal.js';
