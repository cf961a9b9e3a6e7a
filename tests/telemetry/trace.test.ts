// One call overflowed between two real sites is one trace: Shanghai (no agent staffed) asks the
// router, which sends the call to Beijing (one agent ready) over SIP, and every process exports
// OpenTelemetry to an OTLP/HTTP receiver in this test. The trace must connect the origin's call
// span, its RequestRoute client span, the router's server span, the target's call span (through
// X-CC-Traceparent) and the ingester's spans (through the Kafka traceparent header); the metrics
// must name queue length, expected wait, route decisions and consumer lag.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_NAMES, SPAN_NAMES } from '@ccfed/proto';
import {
  agentPhone,
  callerCalls,
  freePort,
  queuedCallers,
  readSippLog,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clickhouseEnv, freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { kafkaEnv } from '../support/kafka.js';
import {
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../support/otlp-receiver.js';
import { startService, type ServiceProcess } from '../support/processes.js';
import { type RunningFederation, startFederation, startRouter } from '../support/running-site.js';

const SHANGHAI_SUPPORT = '400100200';

describe('one trace per call across both sites, the router and the ingester', () => {
  let otlp: OtlpReceiver;
  let fed: RunningFederation;
  let router: ServiceProcess | undefined;
  let ingester: ServiceProcess | undefined;
  let phone: LoggedSippRun | undefined;
  const logDir = join(inject('runDir'), uniqueName('telemetry'));

  beforeAll(async () => {
    mkdirSync(logDir, { recursive: true });
    otlp = await startOtlpReceiver();
    const routerPort = await freePort();
    fed = await startFederation({
      siteIds: ['shanghai', 'beijing'],
      env: { CCFED_ROUTER: `127.0.0.1:${routerPort}`, ...otlp.env },
      mutate: (doc) => {
        const support = doc.skills.find((s: { id: string }) => s.id === 'support');
        support.wrapUpSeconds = 0;
        support.overflow = { expectedWaitThresholdSeconds: 3, minImprovementSeconds: 1 };
        doc.routing.reRequestIntervalSeconds = 1;
        doc.routing.tenantRestrictions = [];
        for (const site of doc.sites) {
          site.handicapSeconds = 0;
          site.agents = [
            {
              id: `${site.id.slice(0, 2)}-001`,
              name: 'Agent',
              tenant: 'acme-bank',
              skills: { support: 5 },
            },
          ];
        }
      },
    });
    // Only Beijing's agent logs in: Shanghai has nobody staffed, so its call must move.
    const beijing = fed.sites.get('beijing')!;
    const agent = beijing.site.agents[0]!;
    const port = await freePort();
    phone = agentPhone({
      port,
      ringMs: 100,
      talkMeanMs: 500,
      logFile: join(logDir, 'phone.log'),
      timeout: '120s',
    });
    await waitFor('phone listening', async () => ((await udpPortFree(port)) ? undefined : true));
    await beijing.control.login({
      agentId: agent.id,
      contactUri: `sip:${agent.id}@127.0.0.1:${port}`,
    });
    await beijing.control.setReady({ agentId: agent.id });

    router = await startRouter(fed, routerPort, { env: otlp.env });
    const { database } = await freshDatabase();
    ingester = startService(
      'central/ingester/src/index.ts',
      {
        ...(await kafkaEnv({ role: 'ingester' }, fed.prefix)),
        CCFED_TOPIC_PREFIX: fed.prefix,
        ...clickhouseEnv('ingester', database),
        CCFED_CONSUMER_GROUP: uniqueName('ccfed-ingester'),
        ...otlp.env,
      },
      'ingester',
    );
  }, 90_000);

  afterAll(async () => {
    await phone?.stop();
    await router?.stop();
    await ingester?.stop();
    await fed?.stop();
    await otlp?.close();
  });

  it('connects the origin, the router, the target and the ingester in one trace', async () => {
    const shanghai = fed.sites.get('shanghai')!;
    const caller = queuedCallers({
      proxy: shanghai.kamailio.sip,
      service: SHANGHAI_SUPPORT,
      callerPrefix: '86139000',
      patienceMs: 60_000,
      calls: 1,
      port: await freePort(),
      logFile: join(logDir, 'caller.log'),
      timeout: '70s',
    });
    const { code, output } = await caller.exited;
    expect(code, output.slice(-1500)).toBe(0);
    const [call] = callerCalls(readSippLog(caller));
    expect(call).toMatchObject({ outcome: 'answered' });

    const site = (s: ReceivedSpan) => s.resource['ccfed.site'];
    const service = (s: ReceivedSpan) => s.resource['service.name'];
    const ofCall = (s: ReceivedSpan) => s.attributes['ccfed.call.id'] === call!.callId;
    // Wait until every part has arrived (whichever trace it landed in), then check how they link.
    const { originCall, targetCall, decision } = await waitFor(
      'the call, its routing and its ingestion exported',
      async () => {
        const all = otlp.spans;
        const find = (what: string, test: (s: ReceivedSpan) => boolean) => {
          const found = all.find(test);
          if (!found) throw new Error(`no ${what} yet`);
          return found;
        };
        const originCall = find(
          'call span at shanghai',
          (s) => s.name === SPAN_NAMES.call && site(s) === 'shanghai' && ofCall(s),
        );
        const targetCall = find(
          'call span at beijing',
          (s) => s.name === SPAN_NAMES.call && site(s) === 'beijing' && ofCall(s),
        );
        const decision = find(
          'overflow decision span at the router',
          (s) =>
            service(s) === 'router' &&
            ofCall(s) &&
            s.attributes['ccfed.route.verdict'] === 'overflow',
        );
        const ingestedUnder = (parent: ReceivedSpan) =>
          all.some((s) => service(s) === 'ingester' && s.parentSpanId === parent.spanId);
        if (!ingestedUnder(originCall)) throw new Error('no ingester span of a shanghai event yet');
        if (!ingestedUnder(targetCall)) throw new Error('no ingester span of a beijing event yet');
        if (!ingestedUnder(decision)) throw new Error('no ingester span of the route decision yet');
        return { originCall, targetCall, decision };
      },
      30_000,
    );
    const trace = otlp.spans.filter((s) => s.traceId === originCall.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);

    // The origin's call span starts the trace; the target's is its child, across SIP.
    expect(service(originCall)).toBe('site-agent');
    expect(originCall.parentSpanId).toBe('');
    expect(targetCall.traceId).toBe(originCall.traceId);
    expect(targetCall.parentSpanId).toBe(originCall.spanId);
    expect(targetCall.attributes).toMatchObject({ 'ccfed.origin_site': 'shanghai' });

    // The router's overflow decision is a child of the origin's RequestRoute client span.
    expect(decision.traceId).toBe(originCall.traceId);
    expect(decision.name).toBe(SPAN_NAMES.requestRoute);
    expect(decision.attributes).toMatchObject({ 'ccfed.route.target': 'beijing' });
    const client = parentOf(decision)!;
    expect(client).toMatchObject({
      name: SPAN_NAMES.requestRoute,
      resource: { 'ccfed.site': 'shanghai' },
    });
    expect(client.parentSpanId).toBe(originCall.spanId);

    // Every ingested event of the call hangs off the span that published it: a site's call span
    // or the router's decision.
    const ingested = trace.filter((s) => service(s) === 'ingester');
    for (const s of ingested) {
      const parent = parentOf(s);
      expect(parent?.name, s.name).toMatch(/^(call|RequestRoute)$/);
      expect(s.name).toBe(
        `${SPAN_NAMES.ingestPrefix}${s.attributes['messaging.destination.name']}`,
      );
    }
    expect(ingested.some((s) => parentOf(s) === decision)).toBe(true);
    expect(new Set(trace.map((s) => service(s)))).toEqual(
      new Set(['site-agent', 'router', 'ingester']),
    );
  }, 90_000);

  it('exports queue length, expected wait, route decisions and consumer lag as metrics', async () => {
    const expected = [
      ['site-agent', METRIC_NAMES.queueLength],
      ['site-agent', METRIC_NAMES.expectedWait],
      ['site-agent', METRIC_NAMES.calls],
      ['router', METRIC_NAMES.routeDecisions],
      ['router', METRIC_NAMES.routeDecisionDuration],
      ['ingester', METRIC_NAMES.consumerLag],
      ['ingester', METRIC_NAMES.eventsIngested],
    ] as const;
    const seen = () => new Set(otlp.metrics.map((m) => `${m.resource['service.name']} ${m.name}`));
    await waitFor(
      'every metric exported',
      async () =>
        expected.every(([svc, name]) => seen().has(`${svc} ${name}`)) ? true : undefined,
      15_000,
    ).catch(() => undefined);
    expect([...seen()].sort()).toEqual(
      expect.arrayContaining(expected.map(([svc, name]) => `${svc} ${name}`)),
    );
  }, 30_000);
});
