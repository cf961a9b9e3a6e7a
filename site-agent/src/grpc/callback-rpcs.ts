// AgentControl.RequestCallback, ListCallbacks, CancelCallback (docs/callbacks.md): the site's
// supervisors, a tenant's supervisor for its own tenant only (authorise.ts), ask for a callback
// for a queued call or schedule one, see the pending ones and cancel one. The customer's number
// comes in and never goes out: the list shows ids, places and attempts.
//
// Status mapping:
//   malformed field, number not E.164, skill offering no callbacks,
//   unknown tenant, a time past or more than 7 days ahead               → INVALID_ARGUMENT
//   another tenant than the supervisor's                                → PERMISSION_DENIED
//   a callback pending for the number on the skill                      → ALREADY_EXISTS
//   the site holds its most pending callbacks (5,000)                   → RESOURCE_EXHAUSTED
//   the call is not queued here (answered, gone, another tenant's)      → FAILED_PRECONDITION
//   an attempt of the callback is dialing, or it is being handed over   → FAILED_PRECONDITION
//   no such callback (or another tenant's)                              → NOT_FOUND
import { principalLabel } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import { ID_PATTERN } from '@ccfed/topology';
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import type { CancelRefusal, PendingCallback, TakeRefusal } from '../callback/callback-desk.js';
import type { Scope, SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permitWho } from './permit.js';

/** What the RPCs need of the site (the call flow and the callback desk). */
export interface CallbackControl {
  forCall(
    callId: string,
    requestedBy: string,
    tenantIds: ReadonlySet<string> | 'all',
  ): { ok: PendingCallback } | { refused: TakeRefusal };
  schedule(req: {
    readonly tenantId: string;
    readonly skill: string;
    readonly number: string;
    readonly atMs: number;
    readonly requestedBy: string;
  }): { ok: PendingCallback } | { refused: TakeRefusal };
  pending(tenantIds: ReadonlySet<string> | 'all', skill?: string): PendingCallback[];
  cancel(id: string, tenantIds: ReadonlySet<string> | 'all', by: string): CancelRefusal | undefined;
}

export interface CallbackRpcDeps {
  readonly callbacks: CallbackControl | undefined;
  readonly site: SiteFacts;
  readonly log: Logger;
}

/** A SIP Call-ID or a UUID: printable, no white space. */
const CALL_ID = /^[\x21-\x7e]{1,256}$/;

export function callbackRpcs({
  callbacks,
  site,
  log,
}: CallbackRpcDeps): Pick<
  siteApi.AgentControlServiceImplementation,
  'requestCallback' | 'listCallbacks' | 'cancelCallback'
> {
  const desk = (): CallbackControl => {
    if (!callbacks)
      throw new ServerError(Status.UNAVAILABLE, `site ${site.siteId} takes no callbacks`);
    return callbacks;
  };
  return {
    async requestCallback(req, context) {
      const { scope, caller } = permitWho(context, site, { rpc: 'RequestCallback' }, log);
      const by = principalLabel(caller);
      const tenants = tenantsOf(scope);
      let r: { ok: PendingCallback } | { refused: TakeRefusal };
      try {
        if (req.callId !== '') {
          if (!CALL_ID.test(req.callId))
            throw new ServerError(
              Status.INVALID_ARGUMENT,
              `call_id ${clip(req.callId)} is malformed`,
            );
          r = desk().forCall(req.callId, by, tenants);
        } else {
          if (!ID_PATTERN.test(req.skill))
            throw new ServerError(Status.INVALID_ARGUMENT, `skill ${clip(req.skill)} is malformed`);
          if (!ID_PATTERN.test(req.tenantId))
            throw new ServerError(
              Status.INVALID_ARGUMENT,
              `tenant_id ${clip(req.tenantId)} is malformed`,
            );
          if (!req.scheduledFor)
            throw new ServerError(
              Status.INVALID_ARGUMENT,
              'either call_id (a queued call) or scheduled_for (with number, skill, tenant_id) is required',
            );
          if (tenants !== 'all' && !tenants.has(req.tenantId))
            throw new ServerError(
              Status.PERMISSION_DENIED,
              `${by} may not schedule callbacks for tenant ${clip(req.tenantId)}`,
            );
          r = desk().schedule({
            tenantId: req.tenantId,
            skill: req.skill,
            number: req.number,
            atMs: req.scheduledFor.getTime(),
            requestedBy: by,
          });
        }
      } catch (err) {
        if (err instanceof ServerError) throw err;
        throw internalError(log, 'RequestCallback', err, {});
      }
      if ('refused' in r) throw refusal(r.refused);
      return { callback: toMessage(r.ok) };
    },

    async listCallbacks(req, context) {
      const scope = permitWho(context, site, { rpc: 'ListCallbacks' }, log).scope;
      if (req.skill !== '' && !ID_PATTERN.test(req.skill))
        throw new ServerError(Status.INVALID_ARGUMENT, `skill ${clip(req.skill)} is malformed`);
      return {
        callbacks: desk()
          .pending(tenantsOf(scope), req.skill === '' ? undefined : req.skill)
          .map(toMessage),
      };
    },

    async cancelCallback(req, context) {
      const { scope, caller } = permitWho(context, site, { rpc: 'CancelCallback' }, log);
      if (!CALL_ID.test(req.callbackId))
        throw new ServerError(
          Status.INVALID_ARGUMENT,
          `callback_id ${clip(req.callbackId)} is malformed`,
        );
      let refused: CancelRefusal | undefined;
      try {
        refused = desk().cancel(req.callbackId, tenantsOf(scope), principalLabel(caller));
      } catch (err) {
        if (err instanceof ServerError) throw err;
        throw internalError(log, 'CancelCallback', err, {});
      }
      if (refused?.kind === 'unknown')
        throw new ServerError(Status.NOT_FOUND, `no pending callback ${clip(req.callbackId)}`);
      if (refused?.kind === 'dialing')
        throw new ServerError(
          Status.FAILED_PRECONDITION,
          `callback ${clip(req.callbackId)} is being dialed; cancel it after this attempt`,
        );
      if (refused?.kind === 'handing_over')
        throw new ServerError(
          Status.FAILED_PRECONDITION,
          `callback ${clip(req.callbackId)} is being handed to another site; cancel it where it is served once that is settled`,
        );
      return {};
    },
  };
}

function tenantsOf(scope: Scope): ReadonlySet<string> | 'all' {
  return scope.kind === 'tenant' ? new Set([scope.tenant]) : 'all';
}

/** The desk's refusal as the status a client acts on, with a message for people. */
function refusal(r: TakeRefusal): ServerError {
  switch (r.kind) {
    case 'duplicate':
      return new ServerError(
        Status.ALREADY_EXISTS,
        `this number already has a pending callback on this skill (${r.pendingId}); it keeps its place`,
      );
    case 'full':
      return new ServerError(
        Status.RESOURCE_EXHAUSTED,
        `the site holds ${r.maxPending} pending callbacks, its limit; try again once some are served`,
      );
    case 'not_offered':
      return new ServerError(
        Status.INVALID_ARGUMENT,
        `skill ${clip(r.skill)} offers no callbacks (topology skills[].callback)`,
      );
    case 'bad_number':
      return new ServerError(
        Status.INVALID_ARGUMENT,
        'number must be E.164: +, country code and number, at most 15 digits',
      );
    case 'in_the_past':
      return new ServerError(Status.INVALID_ARGUMENT, 'scheduled_for has passed');
    case 'too_far_ahead':
      return new ServerError(Status.INVALID_ARGUMENT, 'scheduled_for is more than 7 days ahead');
    case 'unknown_tenant':
      return new ServerError(Status.INVALID_ARGUMENT, 'tenant_id is not a tenant of the topology');
    case 'not_queued':
      return new ServerError(
        Status.FAILED_PRECONDITION,
        'the call is not waiting in a queue of this site (answered, gone, or not yours)',
      );
  }
}

function toMessage(c: PendingCallback): siteApi.PendingCallback {
  return {
    callbackId: c.id,
    tenantId: c.tenantId,
    skill: c.skill,
    tier: c.tier,
    arrivalTime: new Date(c.arrivalMs),
    scheduled: c.scheduled,
    attempts: c.attempts,
    notBefore: c.notBeforeMs === undefined ? undefined : new Date(c.notBeforeMs),
    dialing: c.dialing,
    position: c.position,
  };
}

function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
