// A batch's messages → one TabSeparated INSERT body, and what each message became. This is the
// CPU-heavy part of ingesting (protobuf decoding, building the rows, escaping them), so it runs on
// the decode thread (decode-thread.ts) while the main thread fetches, deduplicates, inserts and
// commits. Pure: the same request always gives the same result.
//
// Which rows go in is not decided here: the main thread owns each partition's ledger, drops the
// messages it holds already, and cuts the rows of duplicates out of the body (selectRows).
import type { InsertBody } from './insert-coalescer.js';
import type { Sink } from './sinks.js';
import { TsvWriter } from './tsv.js';

/** The messages of one batch, packed into a few transferable arrays. */
export interface RowsRequest {
  readonly topic: string;
  readonly partition: number;
  /** The batch's ingested_at, the version ReplacingMergeTree(ingested_at) keeps. */
  readonly ingestedAt: string;
  /** Every message value, end to end. */
  readonly values: Uint8Array;
  /** Where each message's value ends in `values`; -1 for a message with no value. */
  readonly valueEnds: Int32Array;
  readonly offsets: BigInt64Array;
}

/** What became of each message of a RowsRequest, index for index. */
export interface RowsResult {
  /** The rows of every storable message, in message order. */
  readonly body: Uint8Array;
  /** The body's columns; null when no message had rows. */
  readonly columns: [string, ...string[]] | null;
  /** Each message's event id; null for one that cannot be stored. */
  readonly eventIds: (string | null)[];
  /** Why each message that cannot be stored cannot be; null for the others. */
  readonly reasons: (string | null)[];
  /** Where each message's rows end in `body` (they start where the previous message's end). */
  readonly bodyEnds: Uint32Array;
  /** How many rows the body holds up to and including each message's. */
  readonly rowEnds: Uint32Array;
}

/** Packs messages into a RowsRequest; `values` is a copy, so it can be transferred. */
export function rowsRequest(
  topic: string,
  partition: number,
  ingestedAt: string,
  messages: readonly { readonly offset: bigint; readonly value: Buffer | null }[],
): RowsRequest {
  let bytes = 0;
  for (const m of messages) bytes += m.value?.length ?? 0;
  const values = new Uint8Array(bytes);
  const valueEnds = new Int32Array(messages.length);
  const offsets = new BigInt64Array(messages.length);
  let at = 0;
  messages.forEach((m, i) => {
    offsets[i] = m.offset;
    if (m.value === null) {
      valueEnds[i] = -1;
      return;
    }
    values.set(m.value, at);
    at += m.value.length;
    valueEnds[i] = at;
  });
  return { topic, partition, ingestedAt, values, valueEnds, offsets };
}

/**
 * Decodes every message of `req` with its topic's sink, and writes the rows of those that can be
 * stored.
 */
export function batchRows(sink: Sink, req: RowsRequest): RowsResult {
  const n = req.offsets.length;
  const body = new TsvWriter({ ingested_at: req.ingestedAt });
  const eventIds: (string | null)[] = new Array<string | null>(n);
  const reasons: (string | null)[] = new Array<string | null>(n);
  const bodyEnds = new Uint32Array(n);
  const rowEnds = new Uint32Array(n);
  const bytes = Buffer.from(req.values.buffer, req.values.byteOffset, req.values.byteLength);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = req.valueEnds[i]!;
    const value = end < 0 ? null : bytes.subarray(start, end);
    if (end >= 0) start = end;
    const r = sink.toRows(value, { partition: req.partition, offset: String(req.offsets[i]) });
    if (r.ok) {
      eventIds[i] = r.eventId;
      reasons[i] = null;
      for (const row of r.rows) body.writeRow(row);
    } else {
      eventIds[i] = null;
      reasons[i] = r.reason;
    }
    bodyEnds[i] = body.byteLength;
    rowEnds[i] = body.rows;
  }
  return {
    body: body.body(),
    columns: body.rows > 0 ? body.columns() : null,
    eventIds,
    reasons,
    bodyEnds,
    rowEnds,
  };
}

/**
 * The rows of the messages `keep` says to store, as one INSERT body; undefined when there are
 * none. The body is the result's own when every message with rows is kept (the usual case), else
 * a copy of the kept messages' rows.
 */
export function selectRows(
  result: RowsResult,
  keep: (index: number) => boolean,
): InsertBody | undefined {
  if (result.columns === null) return undefined;
  const all = Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength);
  const parts: Buffer[] = [];
  let rows = 0;
  let dropped = false;
  let start = 0;
  let rowStart = 0;
  for (let i = 0; i < result.bodyEnds.length; i++) {
    const end = result.bodyEnds[i]!;
    const rowEnd = result.rowEnds[i]!;
    if (end > start) {
      if (keep(i)) {
        parts.push(all.subarray(start, end));
        rows += rowEnd - rowStart;
      } else dropped = true;
    }
    start = end;
    rowStart = rowEnd;
  }
  if (rows === 0) return undefined;
  return { columns: result.columns, bytes: dropped ? Buffer.concat(parts) : all, rows };
}
