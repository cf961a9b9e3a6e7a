export * from './signal.js';
export * from './recording-audio.js';
