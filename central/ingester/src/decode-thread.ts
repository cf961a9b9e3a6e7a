// Decoding on a second thread. Turning a batch's protobuf messages into TabSeparated rows took
// about half of the ingester's CPU (bench:ingest profile), all of it on the one thread that also
// fetches from Kafka, deduplicates, inserts and commits; that thread was the bottleneck of a
// backlog while a core sat partly idle. Now the main thread packs each batch's values into one
// array, hands it to this thread (batch-rows.ts does the work), and goes on fetching and
// inserting while it waits. Batches are answered in the order they are posted.
//
// If the thread dies (a bug, out of memory), every batch waiting on it fails, which the consumer
// treats like any failed batch (fetched again), and the next batch starts a fresh thread.
import { Worker } from 'node:worker_threads';
import type { TopicNames } from '@ccfed/proto';
import type { RowsRequest, RowsResult } from './batch-rows.js';

type Reply = { id: number; result: RowsResult } | { id: number; error: string };

interface Waiting {
  resolve(result: RowsResult): void;
  reject(err: Error): void;
}

export class DecodeThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly topics: TopicNames) {}

  /** The rows of `req`'s messages; `req.values` is moved to the thread, not copied. */
  rows(req: RowsRequest): Promise<RowsResult> {
    if (this.closed) return Promise.reject(new Error('the decode thread is closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<RowsResult>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, req }, [req.values.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
    this.failAll(new Error('the decode thread was closed'));
  }

  private start(): Worker {
    const worker = new Worker(new URL('./decode-thread-boot.mjs', import.meta.url), {
      workerData: {
        entry: new URL('./decode-thread-main.ts', import.meta.url).href,
        topics: this.topics,
      },
      // Not the main thread's flags (tsx's hooks, a test runner's): the boot file sets up its own.
      execArgv: [],
    });
    // Never what keeps the process alive: the ingester closes it on shutdown.
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if ('error' in reply) w.reject(new Error(`decode thread: ${reply.error}`));
      else w.resolve(reply.result);
    });
    const gone = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(err);
    };
    worker.on('error', (err) => gone(new Error(`decode thread failed: ${err.message}`)));
    worker.on('exit', (code) => gone(new Error(`decode thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
