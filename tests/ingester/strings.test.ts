// The ingester writes TabSeparated INSERTs (central/ingester/src/tsv.ts): any text a site sends,
// in a String column or inside an Array(String), must come back from ClickHouse byte for byte.
// Tabs and newlines would split fields and rows, backslashes and quotes would be read as escapes.
import type { ClickHouseClient } from '@clickhouse/client';
import {
  AgentEvent,
  AgentState,
  CallEvent,
  CustomerTier,
  routing,
  WrapUpDone,
  type TopicNames,
} from '@ccfed/proto';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clickhouseEnv,
  freshDatabase,
  freshTopics,
  rows,
  uniqueName,
  waitFor,
} from '../support/engines.js';
import { adminKafka, kafkaEnv } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';

const NASTY = [
  'tab\there',
  'new\nline and\r\ncrlf',
  'back\\slash, \\t and \\n as text, trailing \\',
  "single ' and double \" quotes, ['not', 'an array']",
  'nul\0byte',
  '中文 😀 ünïcödé',
  '\\N',
  '',
];

const meta = (eventId: string, at: Date) => ({
  eventId,
  tenantId: 'acme-bank',
  siteId: 'beijing',
  eventTime: at,
  producerSequence: 1,
  trace: undefined,
});

describe('ingester: any text arrives in ClickHouse exactly as sent', () => {
  let topics: TopicNames;
  let prefix: string;
  let database: string;
  let ch: ClickHouseClient;
  let producer: Producer;
  let ingester: ServiceProcess | undefined;

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    ({ database, client: ch } = await freshDatabase());
    producer = adminKafka('test').producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    await ingester?.kill();
    await producer?.disconnect();
    await ch?.close();
  });

  it('stores nasty strings in String and Array(String) columns unchanged', async () => {
    const at = new Date('2026-11-22T09:30:15.250Z');
    // A call event per string: it lands in the disposition column and, as JSON, in payload.
    await producer.send({
      topic: topics.callEvents,
      messages: NASTY.map((text, i) => ({
        key: `call-${i}`,
        value: Buffer.from(
          CallEvent.encode({
            meta: meta(`e-call-${i}`, at),
            callId: `call-${i}`,
            skill: 'sales',
            tier: CustomerTier.CUSTOMER_TIER_STANDARD,
            customerId: '',
            callerHash: '',
            arrivalTime: undefined,
            kind: {
              $case: 'wrapUpDone',
              value: WrapUpDone.fromPartial({ agentId: 'bj-001', wrapUpMs: 5, disposition: text }),
            },
          }).finish(),
        ),
      })),
    });
    // An agent event whose reason code is the string, with ids that need escaping too.
    await producer.send({
      topic: topics.agentEvents,
      messages: NASTY.map((text, i) => ({
        key: `agent\t${i}`,
        value: Buffer.from(
          AgentEvent.encode({
            meta: meta(`e-agent\n${i}`, at),
            agentId: `agent\t${i}`,
            fromState: AgentState.AGENT_STATE_READY,
            toState: AgentState.AGENT_STATE_NOT_READY,
            reasonCode: text,
            fromReasonCode: '',
            callId: '',
            fromStateSince: undefined,
          }).finish(),
        ),
      })),
    });
    // One routing decision with every string as an alternative's excluded reason (Array(String)).
    await producer.send({
      topic: topics.routeDecisions,
      messages: [
        {
          key: 'call-d',
          value: Buffer.from(
            routing.RouteDecision.encode({
              routerId: 'router-a',
              meta: meta('e-decision', at),
              request: {
                callId: 'call-d',
                originSiteId: 'beijing',
                skill: 'sales',
                tier: CustomerTier.CUSTOMER_TIER_STANDARD,
                waitedMs: 1,
                originExpectedWaitMs: 2,
                hopCount: 0,
                tenantId: 'acme-bank',
                trace: undefined,
              },
              response: {
                decisionId: 'd-1',
                verdict: routing.Verdict.VERDICT_STAY,
                targetSiteId: '',
                targetSipUri: '',
                reservationExpiresAt: undefined,
                reason: NASTY.join('|'),
                alternatives: NASTY.map((text, i) => ({
                  siteId: `site-${i}`,
                  eligible: i % 2 === 0,
                  excludedReason: text,
                  expectedWaitMs: i,
                  handicapMs: 0,
                  stateAgeMs: 0,
                })),
              },
            }).finish(),
          ),
        },
      ],
    });

    ingester = startService(
      'central/ingester/src/index.ts',
      {
        ...(await kafkaEnv({ role: 'ingester' }, prefix)),
        CCFED_TOPIC_PREFIX: prefix,
        ...clickhouseEnv('ingester', database),
        CCFED_CONSUMER_GROUP: uniqueName('ccfed-ingester'),
      },
      'ingester',
    );
    const calls = await waitFor('every call event stored', async () => {
      const got = await rows<{ call_id: string; disposition: string; payload: string }>(
        ch,
        'SELECT call_id, disposition, payload FROM call_events ORDER BY call_id',
      );
      return got.length === NASTY.length ? got : undefined;
    });
    const agents = await waitFor('every agent event stored', async () => {
      const got = await rows<{ event_id: string; agent_id: string; reason_code: string }>(
        ch,
        'SELECT event_id, agent_id, reason_code FROM agent_events ORDER BY agent_id',
      );
      return got.length === NASTY.length ? got : undefined;
    });
    const [decision] = await waitFor('the decision stored', async () => {
      const got = await rows<{
        reason: string;
        alt_excluded_reasons: string[];
        alt_eligible: number[];
      }>(ch, 'SELECT reason, alt_excluded_reasons, alt_eligible FROM route_decisions');
      return got.length === 1 ? got : undefined;
    });

    expect(calls.map((c) => c.disposition)).toEqual(NASTY);
    expect(
      calls.map((c) => (JSON.parse(c.payload) as { disposition?: string }).disposition ?? ''),
    ).toEqual(NASTY);
    expect(agents.map((a) => [a.event_id, a.agent_id, a.reason_code])).toEqual(
      NASTY.map((text, i) => [`e-agent\n${i}`, `agent\t${i}`, text]),
    );
    expect(decision!.reason).toBe(NASTY.join('|'));
    expect(decision!.alt_excluded_reasons).toEqual(NASTY);
    expect(decision!.alt_eligible).toEqual(NASTY.map((_, i) => (i % 2 === 0 ? 1 : 0)));
    expect(await ingester.stop()).toBe(0);
  });
});
