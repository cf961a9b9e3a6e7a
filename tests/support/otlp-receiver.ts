// A tiny OTLP/HTTP receiver in the test process: what ccfed's processes export with
// OTEL_EXPORTER_OTLP_PROTOCOL=http/json, kept as flat spans and metric names to assert on.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

/** One exported span with its resource's attributes. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string>>;
  /** service.name, ccfed.site, ... */
  readonly resource: Readonly<Record<string, string>>;
}

/** One exported metric data point's name and resource. */
export interface ReceivedMetric {
  readonly name: string;
  readonly resource: Readonly<Record<string, string>>;
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  /** Environment that makes a ccfed process export here, promptly. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

const flat = (kvs: readonly KeyValue[] | undefined): Record<string, string> =>
  Object.fromEntries(
    (kvs ?? []).map((kv) => [
      kv.key,
      String(kv.value.stringValue ?? kv.value.intValue ?? kv.value.boolValue ?? ''),
    ]),
  );

/** Listens on 127.0.0.1 on a free port for POST /v1/traces and /v1/metrics (JSON). */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      try {
        const doc = JSON.parse(body.toString('utf8')) as Record<string, any>;
        if (req.url === '/v1/traces')
          for (const rs of doc.resourceSpans ?? []) {
            const resource = flat(rs.resource?.attributes);
            for (const ss of rs.scopeSpans ?? [])
              for (const s of ss.spans ?? [])
                spans.push({
                  traceId: s.traceId,
                  spanId: s.spanId,
                  parentSpanId: s.parentSpanId ?? '',
                  name: s.name,
                  kind: s.kind,
                  attributes: flat(s.attributes),
                  resource,
                });
          }
        else if (req.url === '/v1/metrics')
          for (const rm of doc.resourceMetrics ?? []) {
            const resource = flat(rm.resource?.attributes);
            for (const sm of rm.scopeMetrics ?? [])
              for (const m of sm.metrics ?? []) metrics.push({ name: m.name, resource });
          }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    spans,
    metrics,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
