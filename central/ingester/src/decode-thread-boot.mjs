// Entry of the decode thread. A worker thread does not inherit tsx's module hooks from the main
// thread, so it registers them itself before loading the TypeScript.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
