import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { contextFromTraceparent, telemetryRequested, traceparentOf } from './telemetry.js';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('telemetryRequested', () => {
  it('is off without any OTEL_* variable, and with exporters set to none', () => {
    expect(telemetryRequested({})).toBe(false);
    expect(
      telemetryRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: ' none' }),
    ).toBe(false);
    expect(telemetryRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false);
  });

  it('is on with an OTLP endpoint or a named exporter', () => {
    expect(telemetryRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(telemetryRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' })).toBe(
      true,
    );
    expect(telemetryRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(telemetryRequested({ OTEL_METRICS_EXPORTER: 'none,otlp' })).toBe(true);
  });

  it('is off whatever else is set when OTEL_SDK_DISABLED is true', () => {
    expect(
      telemetryRequested({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }),
    ).toBe(false);
  });
});

describe('W3C traceparent', () => {
  it('passes an incoming trace on through a span of the no-op API', () => {
    const span = trace.getTracer('t').startSpan('call', {}, contextFromTraceparent(PARENT));
    expect(traceparentOf(span)).toBe(PARENT);
  });

  it('ignores an empty, malformed or all-zero traceparent', () => {
    for (const bad of [
      '',
      undefined,
      'garbage',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331',
      '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
    ])
      expect(contextFromTraceparent(bad)).toBe(ROOT_CONTEXT);
    const span = trace.getTracer('t').startSpan('call', {}, contextFromTraceparent('nope'));
    expect(traceparentOf(span)).toBe('');
  });
});
