// Support for the gRPC tests; nothing here is wired into the process.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadTls,
  ManualClock,
  secureChannel,
  type Clock,
  type Principal,
  type TlsMaterial,
} from '@ccfed/common';
import { openPki, type Pki } from '@ccfed/services';
import { phoneNetwork } from '@ccfed/topology';
import {
  ClientError,
  createClientFactory,
  type Channel,
  type ClientMiddleware,
  type Status,
} from 'nice-grpc';
import { Acd, type Effects } from '../acd/acd.js';
import type { QueuedCall } from '../acd/queue.js';
import { InvalidRequestError, type AgentDesk, type AgentView, type QueueView } from '../desk.js';
import type { SiteFacts } from './authorise.js';

/** 2026-11-23 09:00 in Shanghai. */
export const T0 = Date.parse('2026-11-23T01:00:00Z');

/** A small site on a real ACD: sales and support; sh-001 does both, sh-002 support only. */
export function testSite(): { clock: ManualClock; acd: Acd; desk: AcdTestDesk } {
  const clock = new ManualClock(T0);
  const skill = (id: string) => ({
    id,
    serviceLevelThresholdMs: 20_000,
    wrapUpMs: 10_000,
    averageHandleMs: 180_000,
  });
  const acd = new Acd({
    clock,
    skills: [skill('sales'), skill('support')],
    agents: [
      { id: 'sh-001', tenantId: 'acme-bank', skills: { sales: 8, support: 5 } },
      { id: 'sh-002', tenantId: 'acme-bank', skills: { support: 9 } },
    ],
  });
  return { clock, acd, desk: new AcdTestDesk(acd, clock) };
}

/** The test site's id and agents, as the process takes them from the topology. */
export const SITE: SiteFacts = {
  siteId: 'shanghai',
  agentTenants: new Map([
    ['sh-001', 'acme-bank'],
    ['sh-002', 'acme-bank'],
  ]),
};

/** The test site's phones: this host, and hosts under sh.example.com. */
export const PHONES = phoneNetwork(['127.0.0.0/8', '::1/128', '*.sh.example.com']);

export const SHANGHAI: Principal = { kind: 'site', site: 'shanghai' };
export const OPERATOR: Principal = { kind: 'operator', name: 'li' };
export const SUPERVISOR: Principal = { kind: 'supervisor', site: 'shanghai' };

// One CA per test file, in a temporary directory, as the suite and the local federation have theirs.
let pki: Promise<Pki> | undefined;

/** TLS material for `principal` from the test file's CA. */
export async function tlsAs(principal: Principal): Promise<TlsMaterial> {
  pki ??= openPki(mkdtempSync(join(tmpdir(), 'ccfed-site-pki-')));
  return loadTls(await (await pki).issue(principal));
}

/** A channel to the test site's server on `port` holding `principal`'s certificate. */
export async function channelAs(port: number, principal: Principal): Promise<Channel> {
  return secureChannel(
    `127.0.0.1:${port}`,
    await tlsAs(principal),
    (p) => p.kind === 'site' && p.site === SITE.siteId,
    `site:${SITE.siteId}`,
  );
}

/**
 * Clients made by this factory give every call a 5 s deadline (a fresh one per call), so a test
 * against a server that stopped answering fails instead of hanging.
 */
export const clientFactory = createClientFactory().use(withDeadline(5_000));

function withDeadline(ms: number): ClientMiddleware {
  return async function* deadline(call, options) {
    return yield* call.next(call.request, { ...options, signal: AbortSignal.timeout(ms) });
  };
}

/** The status a call failed with, or a thrown error when it succeeded or failed otherwise. */
export async function failure(call: Promise<unknown>): Promise<{ code: Status; details: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ClientError)) {
    throw new Error(
      `expected a gRPC error status, got ${err === undefined ? 'success' : String(err)}`,
    );
  }
  return { code: err.code, details: err.details };
}

/**
 * An AgentDesk straight over the Acd, standing in for the call flow's desk (call-flow.ts), which
 * also carries out what the ACD asks for (ring the chosen agent, publish state changes). This one
 * only records when each agent changed state.
 */
export class AcdTestDesk implements AgentDesk {
  private readonly since = new Map<string, number>();
  private readonly contacts = new Map<string, string>();

  constructor(
    readonly acd: Acd,
    private readonly clock: Clock,
  ) {}

  login(agentId: string, contactUri: string): AgentView {
    this.note(this.acd.login(agentId));
    this.contacts.set(agentId, contactUri);
    return this.view(agentId);
  }

  ready(agentId: string): AgentView {
    this.note(this.acd.ready(agentId));
    return this.view(agentId);
  }

  notReady(agentId: string, reason: string): AgentView {
    this.note(this.acd.notReady(agentId, reason));
    return this.view(agentId);
  }

  logout(agentId: string): AgentView {
    this.note(this.acd.logout(agentId));
    this.contacts.delete(agentId);
    return this.view(agentId);
  }

  agents(skill?: string): AgentView[] {
    if (skill !== undefined && !this.acd.skillStatus().some((s) => s.skill === skill)) {
      throw new InvalidRequestError(`unknown skill ${skill} at this site`);
    }
    return this.acd
      .agentList()
      .filter(({ agent }) => skill === undefined || skill in agent.skills)
      .map(({ agent }) => this.view(agent.id));
  }

  queues(): QueueView[] {
    return this.acd.skillStatus().map(({ skill }) => ({
      skill,
      calls: this.acd.queuedCalls(skill).map((c) => ({
        callId: c.callId,
        tenantId: c.tenantId,
        tier: c.tier,
        arrivalMs: c.arrivalMs,
        expectedWaitMs: this.acd.expectedWaitOf(c.callId) ?? 0,
      })),
    }));
  }

  /** A call enters the ACD, as the call flow would offer it; the result is the ACD's. */
  offer(call: QueuedCall): ReturnType<Acd['offer']> {
    const result = this.acd.offer(call);
    this.note(result.effects);
    return result;
  }

  /** The ACD does not keep when an agent entered its state; the desk does, from the effects. */
  private note(fx: Effects): void {
    for (const change of fx.agentChanges) this.since.set(change.agentId, this.clock.now());
  }

  private view(agentId: string): AgentView {
    const entry = this.acd.agentList().find(({ agent }) => agent.id === agentId);
    if (!entry) throw new Error(`test desk: agent ${agentId} vanished from the ACD`);
    const { agent, state } = entry;
    return {
      agentId,
      tenantId: agent.tenantId,
      state,
      sinceMs: this.since.get(agentId) ?? 0,
      skills: agent.skills,
      contactUri: this.contacts.get(agentId) ?? '',
    };
  }
}
