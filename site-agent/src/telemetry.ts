// The site agent's OpenTelemetry: a `call` span per call and the site's queue figures as metrics.
// Through the OpenTelemetry API only, so with telemetry off (common/src/telemetry.ts) every span
// is a no-op that passes an incoming trace on and every instrument records nothing.
import { contextFromTraceparent, traceparentOf } from '@ccfed/common';
import { METRIC_NAMES, SPAN_NAMES, type SiteSnapshot } from '@ccfed/proto';
import {
  metrics,
  SpanKind,
  trace,
  type Counter,
  type Meter,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { NO_AGENTS_EWT_MS } from './acd/ewt.js';
import type { CallContext } from './call-context.js';
import type { CallOutcome } from './call/call-machine.js';

const SCOPE = 'ccfed-site-agent';

/** One span per call at this site, from its INVITE to its end here. */
export class CallTracing {
  private readonly calls: Counter;

  /** On the global OpenTelemetry API unless a tracer and meter are handed in (tests). */
  constructor(
    private readonly siteId: string,
    private readonly tracer: Tracer = trace.getTracer(SCOPE),
    meter: Meter = metrics.getMeter(SCOPE),
  ) {
    this.calls = meter.createCounter(METRIC_NAMES.calls, {
      description: 'Calls that left the site, by skill and outcome',
    });
  }

  /**
   * Opens a call's span, a child of the trace in its X-CC-Traceparent when another site sent it
   * (so both sites' spans are one trace), and returns the traceparent the call carries from now
   * on: in its events' Kafka headers, its router requests and its overflow INVITE.
   */
  start(callId: string, context: CallContext): { span: Span; traceparent: string } {
    const span = this.tracer.startSpan(
      SPAN_NAMES.call,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'ccfed.call.id': callId,
          'ccfed.site': this.siteId,
          'ccfed.tenant': context.tenantId,
          'ccfed.skill': context.skill,
          ...(context.originSite ? { 'ccfed.origin_site': context.originSite } : {}),
        },
      },
      contextFromTraceparent(context.traceparent),
    );
    return { span, traceparent: traceparentOf(span) };
  }

  /** Ends a call's span with how the call left this site, and counts it. */
  end(span: Span, skill: string, outcome: CallOutcome): void {
    span.setAttribute('ccfed.call.outcome', outcome);
    span.end();
    this.calls.add(1, { 'ccfed.skill': skill, 'ccfed.call.outcome': outcome });
  }
}

/**
 * Queue length and expected wait per skill as observable gauges, read from the site's current
 * snapshot each time metrics are collected. A skill with no agent staffed has no expected wait.
 */
export function observeQueues(snapshot: () => SiteSnapshot): void {
  const meter = metrics.getMeter(SCOPE);
  const length = meter.createObservableGauge(METRIC_NAMES.queueLength, {
    description: 'Calls waiting in the queue, per skill',
  });
  const ewt = meter.createObservableGauge(METRIC_NAMES.expectedWait, {
    description: 'Expected wait of a new standard-tier call, per skill',
    unit: 'ms',
  });
  meter.addBatchObservableCallback(
    (observer) => {
      for (const s of snapshot().skills) {
        const attributes = { 'ccfed.skill': s.skill };
        observer.observe(length, s.queued, attributes);
        if (s.expectedWaitMs < NO_AGENTS_EWT_MS)
          observer.observe(ewt, s.expectedWaitMs, attributes);
      }
    },
    [length, ewt],
  );
}
