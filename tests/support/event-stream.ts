// A day of a small federation as the Kafka messages its sites would publish, already encoded,
// with the figures ClickHouse must show once it has them all. Used by the ingester's
// exactly-once tests and by bench:ingest.
import { randomUUID } from 'node:crypto';
import { seededRandom } from '@ccfed/analytics/population';
import {
  AgentEvent,
  AgentState,
  CallEvent,
  WrapUpDone,
  CrmEvent,
  CustomerTier,
  SiteSnapshot,
  Survey,
  routing,
  type EventMeta,
  type TopicNames,
} from '@ccfed/proto';

export interface StreamMessage {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  readonly eventId: string;
}

/** What the stored data must add up to: each event counted once. */
export interface ExpectedFigures {
  readonly calls: number;
  readonly callEvents: number;
  readonly answered: number;
  readonly abandoned: number;
  readonly answerWaitMs: number;
  readonly talkMs: number;
  readonly agentEvents: number;
  readonly onCallMs: number;
  readonly surveys: number;
  readonly crmEvents: number;
  readonly decisions: number;
  readonly snapshotRows: number;
}

const SITES = ['shanghai', 'beijing', 'guangzhou'] as const;
const TENANTS = ['acme-bank', 'globex'] as const;

/**
 * `calls` calls spread over the day starting at `day`, each with its call events (offered, queued,
 * then answered/ended/wrap-up or abandoned), its agent's state changes, a survey for one in four,
 * a CRM event for one in five, a routing decision for one in ten, and a snapshot per site every
 * 50 calls.
 */
export function eventStream(
  topics: TopicNames,
  opts: { calls: number; day?: Date; seed?: number },
): { messages: StreamMessage[]; expected: ExpectedFigures } {
  const random = seededRandom(opts.seed ?? 1);
  const day = (opts.day ?? new Date('2026-11-20T00:00:00Z')).getTime();
  const messages: StreamMessage[] = [];
  const figures = {
    calls: 0,
    callEvents: 0,
    answered: 0,
    abandoned: 0,
    answerWaitMs: 0,
    talkMs: 0,
    agentEvents: 0,
    onCallMs: 0,
    surveys: 0,
    crmEvents: 0,
    decisions: 0,
    snapshotRows: 0,
  };
  const meta = (tenantId: string, siteId: string, atMs: number): EventMeta => ({
    eventId: randomUUID(),
    tenantId,
    siteId,
    eventTime: new Date(atMs),
    producerSequence: messages.length + 1,
    trace: undefined,
  });
  const push = (topic: string, key: string, m: EventMeta, value: Uint8Array) =>
    messages.push({ topic, key, value: Buffer.from(value), eventId: m.eventId });

  for (let i = 0; i < opts.calls; i++) {
    const site = SITES[i % SITES.length]!;
    const tenantId = TENANTS[i % TENANTS.length]!;
    const callId = `call-${opts.seed ?? 1}-${i}`;
    const agentId = `${site.slice(0, 2)}-${String(i % 7).padStart(3, '0')}`;
    const arrival = day + Math.floor((i / opts.calls) * 86_400_000);
    const waitMs = Math.floor(random() * 60_000);
    const abandons = random() < 0.15;
    const tier =
      random() < 0.1 ? CustomerTier.CUSTOMER_TIER_VIP : CustomerTier.CUSTOMER_TIER_STANDARD;
    const call = (atMs: number, kind: CallEvent['kind']) => {
      const m = meta(tenantId, site, atMs);
      push(
        topics.callEvents,
        callId,
        m,
        CallEvent.encode({
          meta: m,
          callId,
          skill: 'sales',
          tier,
          customerId: `cust-${i % 500}`,
          callerHash: `h${i % 500}`,
          arrivalTime: new Date(arrival),
          kind,
        }).finish(),
      );
      figures.callEvents++;
    };
    const agent = (atMs: number, from: AgentState, to: AgentState, sinceMs: number) => {
      const m = meta(tenantId, site, atMs);
      push(
        topics.agentEvents,
        agentId,
        m,
        AgentEvent.encode({
          meta: m,
          agentId,
          fromState: from,
          toState: to,
          reasonCode: '',
          fromReasonCode: '',
          callId,
          fromStateSince: new Date(sinceMs),
        }).finish(),
      );
      figures.agentEvents++;
    };

    figures.calls++;
    call(arrival, {
      $case: 'offered',
      value: {
        dialedNumber: '4001001',
        skill: 'sales',
        tier,
        customerId: `cust-${i % 500}`,
        callerHash: `h${i % 500}`,
        arrivalTime: new Date(arrival),
        requestedSkill: '',
        overflowOriginSiteId: '',
        overflowDecisionId: '',
      },
    });
    call(arrival + 5, {
      $case: 'queued',
      value: { skill: 'sales', position: 1, expectedWaitMs: 30_000 },
    });
    if (abandons) {
      figures.abandoned++;
      call(arrival + waitMs, {
        $case: 'abandoned',
        value: {
          skill: 'sales',
          waitMs,
          byCaller: true,
          serviceLevelThresholdMs: 20_000,
          shortAbandonMs: 5000,
        },
      });
      continue;
    }
    const answeredAt = arrival + waitMs;
    const talkMs = 30_000 + Math.floor(random() * 300_000);
    figures.answered++;
    figures.answerWaitMs += waitMs;
    figures.talkMs += talkMs;
    figures.onCallMs += talkMs;
    agent(
      answeredAt - 3000,
      AgentState.AGENT_STATE_READY,
      AgentState.AGENT_STATE_RESERVED,
      answeredAt - 20_000,
    );
    agent(
      answeredAt,
      AgentState.AGENT_STATE_RESERVED,
      AgentState.AGENT_STATE_ON_CALL,
      answeredAt - 3000,
    );
    call(answeredAt, {
      $case: 'answered',
      value: { agentId, skill: 'sales', waitMs, serviceLevelThresholdMs: 20_000 },
    });
    const endedAt = answeredAt + talkMs;
    call(endedAt, { $case: 'ended', value: { agentId, talkMs, holdMs: 0, endedBy: 1 } });
    agent(endedAt, AgentState.AGENT_STATE_ON_CALL, AgentState.AGENT_STATE_WRAP_UP, answeredAt);
    call(endedAt + 15_000, {
      $case: 'wrapUpDone',
      value: WrapUpDone.fromPartial({ agentId, wrapUpMs: 15_000 }),
    });

    if (i % 4 === 0) {
      const m = meta(tenantId, site, endedAt + 60_000);
      push(
        topics.surveys,
        callId,
        m,
        Survey.encode({
          meta: m,
          callId,
          customerId: `cust-${i % 500}`,
          agentId,
          skill: 'sales',
          csat: 1 + (i % 5),
          nps: i % 11,
          complaintSeverity: 1,
        }).finish(),
      );
      figures.surveys++;
    }
    if (i % 5 === 0) {
      const m = meta(tenantId, site, endedAt + 120_000);
      push(
        topics.crmEvents,
        `cust-${i % 500}`,
        m,
        CrmEvent.encode({
          meta: m,
          customerId: `cust-${i % 500}`,
          customerValueMinor: 100_000,
          kind: { $case: 'holdings', value: { productIds: ['card', i % 2 ? 'loan' : 'savings'] } },
        }).finish(),
      );
      figures.crmEvents++;
    }
    if (i % 10 === 0) {
      const m = meta(tenantId, 'hq', arrival + 1000);
      push(
        topics.routeDecisions,
        callId,
        m,
        routing.RouteDecision.encode({
          routerId: 'router-a',
          meta: m,
          request: {
            callId,
            originSiteId: site,
            tenantId,
            skill: 'sales',
            tier,
            waitedMs: 1000,
            originExpectedWaitMs: 90_000,
            hopCount: 0,
            trace: undefined,
          },
          response: {
            decisionId: `d-${i}`,
            reservationExpiresAt: undefined,
            verdict: routing.Verdict.VERDICT_STAY,
            targetSiteId: '',
            targetSipUri: '',
            reason: 'no site is better by the minimum improvement',
            alternatives: SITES.map((s) => ({
              siteId: s,
              eligible: true,
              excludedReason: '',
              expectedWaitMs: 60_000,
              handicapMs: 0,
              stateAgeMs: 800,
            })),
          },
        }).finish(),
      );
      figures.decisions++;
    }
    if (i % 50 === 0) {
      for (const s of SITES) {
        const m = meta(tenantId, s, arrival);
        push(
          topics.siteSnapshots,
          s,
          m,
          SiteSnapshot.encode({
            meta: m,
            sequence: i + 1,
            acceptingOverflow: true,
            skills: ['sales', 'support'].map((skill) => ({
              skill,
              queued: 2,
              oldestWaitMs: 12_000,
              agentsStaffed: 7,
              agentsIdle: 1,
              expectedWaitMs: 20_000,
              offeredToday: i,
              answeredWithinThresholdToday: 0,
              answeredToday: 0,
              abandonedToday: 0,
              inboundOverflowPending: 0,
              averageHandleMs: 180_000,
              tenants: TENANTS.map((t) => ({
                tenantId: t,
                queued: 1,
                agentsStaffed: 3,
                agentsIdle: 0,
                expectedWaitMs: 25_000,
              })),
            })),
          }).finish(),
        );
        figures.snapshotRows += 2;
      }
    }
  }
  return { messages, expected: figures };
}
