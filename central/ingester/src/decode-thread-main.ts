// The decode thread's own code: it answers each RowsRequest the main thread posts with its
// RowsResult (batch-rows.ts), moving the body's memory over rather than copying it.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '@ccfed/common';
import type { TopicNames } from '@ccfed/proto';
import { batchRows, type RowsRequest } from './batch-rows.js';
import { sinksFor } from './sinks.js';

interface Request {
  readonly id: number;
  readonly req: RowsRequest;
}

const sinks = new Map(sinksFor(workerData.topics as TopicNames).map((s) => [s.topic, s]));
const port = parentPort!;
port.on('message', ({ id, req }: Request) => {
  const sink = sinks.get(req.topic);
  if (!sink) {
    port.postMessage({ id, error: `no table for topic ${req.topic}` });
    return;
  }
  try {
    const result = batchRows(sink, req);
    port.postMessage({ id, result }, [result.body.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id, error: errorMessage(err) });
  }
});
