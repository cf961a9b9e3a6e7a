export * from './signal.js';
export * from './recording-audio.js';
export * from './announcement.js';
export * from './prompts.js';
export * from './tools.js';
