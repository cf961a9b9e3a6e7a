// OpenTelemetry for every ccfed process, switched on by the standard OTEL_* environment only.
//
// Without it the OpenTelemetry API stays the no-op it is by default: spans are non-recording
// objects that only pass their parent's trace context on, and instruments record nothing, so
// benchmarks and tests that do not ask for telemetry pay next to nothing. No auto-instrumentation
// is loaded (http, fs, grpc...): the spans that matter (a call, a routing decision, an ingested
// event) are opened explicitly where they happen.
//
// The trace context crosses processes as a W3C traceparent string: in the X-CC-Traceparent SIP
// header, the RouteRequest's trace field and the Kafka `traceparent` header. Those are W3C by
// contract, whatever OTEL_PROPAGATORS says, so they are read and written here directly rather than
// through the configured propagator (which is also a no-op while telemetry is off, when an
// incoming trace must still be passed on unchanged).

import {
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { Logger } from 'pino';

type Env = Readonly<Record<string, string | undefined>>;

/** Any of these set (non-empty) switches telemetry on: there is somewhere to send it. */
const ENDPOINT_VARS = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
] as const;
/** Naming an exporter other than `none` here switches it on too (e.g. `console`). */
const EXPORTER_VARS = ['OTEL_TRACES_EXPORTER', 'OTEL_METRICS_EXPORTER'] as const;

/**
 * Whether the environment asks for telemetry: an OTLP endpoint is set, or OTEL_TRACES_EXPORTER /
 * OTEL_METRICS_EXPORTER names an exporter other than `none`. OTEL_SDK_DISABLED=true always wins.
 */
export function telemetryRequested(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (ENDPOINT_VARS.some((name) => env[name]?.trim())) return true;
  return EXPORTER_VARS.some((name) =>
    (env[name] ?? '').split(',').some((e) => e.trim() !== '' && e.trim() !== 'none'),
  );
}

export interface Telemetry {
  /** Whether the SDK runs: spans are recorded and exported. */
  readonly enabled: boolean;
  /** Ends the SDK, exporting what is buffered. The process's last shutdown step. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK when the environment asks for it (telemetryRequested), with the
 * resource `service.name` = `serviceName` (OTEL_SERVICE_NAME overrides) plus `attributes` (e.g.
 * `ccfed.site`); exporters, protocol, endpoints and intervals come from the standard OTEL_*
 * variables. Call it before anything asks the API for a meter: meters taken earlier stay no-ops.
 */
export async function startTelemetry(opts: {
  readonly serviceName: string;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly env?: Env;
}): Promise<Telemetry> {
  const env = opts.env ?? process.env;
  if (!telemetryRequested(env)) return { enabled: false, shutdown: async () => undefined };
  // Loaded only when asked for: the SDK and its exporters are many modules to load at start-up.
  const [{ NodeSDK }, { defaultResource, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/resources'),
  ]);
  const sdk = new NodeSDK({
    // Detected attributes (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, host, process) are
    // merged over these.
    resource: defaultResource().merge(
      resourceFromAttributes({ 'service.name': opts.serviceName, ...opts.attributes }),
    ),
    // ccfed logs with pino; no OpenTelemetry log records are made, so none are exported.
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  opts.log.info(
    {
      event: 'telemetry_started',
      service: env.OTEL_SERVICE_NAME || opts.serviceName,
      endpoint:
        env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || 'default',
      protocol: env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf',
    },
    'OpenTelemetry started',
  );
  let done: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: () => (done ??= sdk.shutdown()),
  };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * `parent` with the remote span of a W3C `traceparent` as its current span, so a span started in
 * it joins that trace; `parent` unchanged when the string is empty or not a valid traceparent.
 */
export function contextFromTraceparent(
  traceparent: string | undefined,
  parent: Context = ROOT_CONTEXT,
): Context {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim()) : null;
  if (!m) return parent;
  const spanContext: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16) & 0x01,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(parent, spanContext) : parent;
}

/**
 * The W3C traceparent naming `span` as the parent of what follows; '' for a span with no valid
 * context (telemetry off and no incoming trace). With telemetry off a span started under an
 * incoming trace carries that trace's context, so it is passed on unchanged.
 */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  if (!isSpanContextValid(c)) return '';
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
