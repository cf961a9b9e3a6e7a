#!/usr/bin/env node
// The installed `ccfed` command: runs the TypeScript entry point through tsx, as every ccfed
// process runs (node --import tsx), so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
