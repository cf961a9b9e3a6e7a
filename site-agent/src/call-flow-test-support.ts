// Support for the call flow's tests: a CallFlow on the example topology's Beijing site with a
// real ACD, Kamailio's commands and the published events recorded. Nothing here is wired into
// the process.
import { ManualClock, silentLogger } from '@ccfed/common';
import type { AgentEvent, CallEvent } from '@ccfed/proto';
import { parseTopology, siteById } from '@ccfed/topology';
import { readFileSync } from 'node:fs';
import { Acd } from './acd/acd.js';
import { DayStats } from './acd/day-stats.js';
import { acdSetup } from './acd/from-topology.js';
import { exclusionsOf } from './admission.js';
import { AgentRoster, SiteDesk } from './agent-desk.js';
import { CallFlow, type CallFlowDeps } from './call-flow.js';
import { CallbackDesk } from './callback/callback-desk.js';
import { CallbackStore } from './callback/callback-store.js';
import type { CustomerDirectory } from './customer-directory.js';
import { EventStamper } from './events/event-meta.js';
import type { KamailioCommand, KamailioEvent } from './kamailio/messages.js';
import type { CallRecorder } from './recording/recorder.js';
import { federationKeys, signContext } from './sip-context-signature.js';
import type { SiteState } from './site-state.js';
import type { CallTracing } from './telemetry.js';

export const EXAMPLE = new URL('../../topology/example.yaml', import.meta.url).pathname;
export const T0 = Date.parse('2026-11-22T02:00:00Z');
export const KEYS = federationKeys('federation-key-for-call-flow-tests-0123456789');

/** Who an INVITE came from, as Kamailio tells: a trusted IVR, anyone, or a peer site. */
export type Source = 'trusted' | 'untrusted' | { readonly peer: string };

export function setup(
  opts: {
    drained?: boolean;
    callerHashKey?: string;
    tracing?: CallTracing;
    directory?: CustomerDirectory;
    tenantExclusions?: Record<string, string[]>;
    mutate?: (doc: string) => string;
    recorder?: CallRecorder;
    prompts?: CallFlowDeps['prompts'];
    /** Callbacks kept in this directory (callback/callback-desk.ts), without a dialer. */
    callbackDir?: string;
    /** A previous run's state (site-state.ts) this flow takes up, as the site agent does at start. */
    previous?: SiteState;
    /** The clock, shared with a previous run's setup. */
    clock?: ManualClock;
  } = {},
) {
  const text = readFileSync(EXAMPLE, 'utf8');
  const topology = parseTopology(opts.mutate ? opts.mutate(text) : text, EXAMPLE);
  const site = siteById(topology, 'beijing');
  const clock = opts.clock ?? new ManualClock(T0);
  const commands: KamailioCommand[] = [];
  const callEvents: CallEvent[] = [];
  const agentEvents: AgentEvent[] = [];
  const acd = new Acd({ clock, ...acdSetup(topology, site) });
  const roster = new AgentRoster(site.agents.map((a) => a.id));
  const stamper = new EventStamper({ clock, siteId: site.id });
  const publisher = {
    callEvent: async (e: CallEvent) => void callEvents.push(e),
    agentEvent: async (e: AgentEvent) => void agentEvents.push(e),
  };
  const callbacks = opts.callbackDir
    ? new CallbackDesk({
        clock,
        topology,
        acd,
        store: new CallbackStore(opts.callbackDir),
        dialer: undefined,
        stamper,
        publisher,
        log: silentLogger(),
      })
    : undefined;
  const flow = new CallFlow({
    clock,
    topology,
    site,
    acd,
    roster,
    dayStats: new DayStats(clock, site.timezone),
    stamper,
    publisher,
    sendToKamailio: (c) => (commands.push(c), true),
    log: silentLogger(),
    drained: () => opts.drained ?? false,
    ...(opts.callerHashKey ? { callerHashKey: opts.callerHashKey } : {}),
    ...(opts.tracing ? { tracing: opts.tracing } : {}),
    federationKeys: KEYS,
    ...(opts.directory ? { directory: opts.directory } : {}),
    tenantExclusions: () => exclusionsOf(opts.tenantExclusions ?? {}),
    ...(opts.recorder ? { recorder: opts.recorder } : {}),
    ...(opts.prompts ? { prompts: opts.prompts } : {}),
    ...(callbacks ? { callbacks } : {}),
  });
  const desk = new SiteDesk({ acd, topology, roster, carryOut: (fx) => flow.carryOut(fx) });
  if (opts.previous) {
    acd.restore(opts.previous.acd);
    roster.restore(opts.previous.roster);
    flow.restore(opts.previous.calls);
  }
  /** What the site agent saves (site-state.ts), through JSON as on disk. */
  const state = (): SiteState =>
    JSON.parse(
      JSON.stringify({ acd: acd.snapshot(), roster: roster.snapshot(), calls: flow.snapshot() }),
    ) as SiteState;
  let tx = 0;
  /** An INVITE; a peer's X-CC-* headers are signed as its site agent would, unless `raw`. */
  const invite = (
    callid: string,
    number: string,
    cc: Record<string, string> = {},
    source: Source = 'trusted',
    raw = false,
    /** What the caller's phone offers: REFER in its Allow, a transfer token in its URI. */
    extra: { refer?: boolean; xfer?: string; fromUser?: string } = {},
  ) => {
    tx++;
    const peer = typeof source === 'object' ? source.peer : '';
    const headers =
      peer && !raw
        ? {
            ...cc,
            Signature: signContext(
              KEYS[0]!,
              { callId: callid, dialedNumber: number, headers: cc },
              clock.now(),
            ),
          }
        : cc;
    flow.handle({
      event: 'invite',
      tindex: tx,
      tlabel: 1000 + tx,
      callid,
      cseq: 1,
      fromUser: `caller-${callid}`,
      fromTag: `tag-${callid}`,
      ruriUser: number,
      tsS: 0,
      tsU: 0,
      trust: peer ? 'peer' : source === 'trusted' ? 'trusted' : 'none',
      peer,
      cc: headers,
      ...extra,
    });
  };
  const ev = (e: KamailioEvent) => flow.handle(e);
  const staff = (agentId: string, port: number) => {
    desk.login(agentId, `sip:${agentId}@127.0.0.1:${port}`);
    desk.ready(agentId);
  };
  const kinds = (callId: string) =>
    callEvents.filter((e) => e.callId === callId).map((e) => e.kind?.$case);
  const last = () => commands.at(-1)!;
  return {
    flow,
    state,
    callbacks,
    desk,
    acd,
    clock,
    commands,
    callEvents,
    agentEvents,
    invite,
    ev,
    staff,
    kinds,
    last,
  };
}

export const SALES = '400200100'; // Beijing, acme-bank
export const SHANGHAI: Source = { peer: 'shanghai' };
