// The site agent's gRPC server: AgentControl (agents' desks, supervisors) and SiteAgent (other
// sites, the router, operators) on one address, over mutual TLS with the federation's CA only.
// Who may call what is authorise.ts.

import { site } from '@ccfed/proto';
import {
  grpcServerCredentials,
  MAX_SITE_MESSAGE_BYTES,
  secureServerOptions,
  serveGrpc,
  systemClock,
  type TlsMaterial,
} from '@ccfed/common';
import type { PhoneNetwork } from '@ccfed/topology';
import { createServer, ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import type { AgentDesk } from '../desk.js';
import type { RecordingLibrary } from '../recording/recording-library.js';
import { RecordingControlError, type RecordingDesk } from '../recording/recording-control.js';
import type { WrapUpDesk } from '../wrap-up-desk.js';
import { createAgentControlService, type DeskCodes } from './agent-control.js';
import type { SiteFacts } from './authorise.js';
import { fetchRecordingRpc, recordingControlRpcs } from './recording-rpcs.js';
import { monitorRpcs } from './monitor-rpcs.js';
import { MonitorBook } from '../monitor/monitor-book.js';
import { MonitorService } from '../monitor/monitor-service.js';
import { createSiteAgentService, type SiteStatusProvider } from './site-status.js';
import { TransferError } from '../transfer/transfer.js';
import { transferCallRpc, type TransferDesk } from './transfer-rpc.js';
import { callbackRpcs, type CallbackControl } from './callback-rpcs.js';
import { campaignRpcs } from './campaign-rpcs.js';
import type { CampaignDesk } from '../campaign/campaign-desk.js';
import type { CustomerBook } from '../campaign/customer-book.js';
import { handOverCallbackRpc, type HandoverRpcDeps } from './handover-rpc.js';
import { permit } from './permit.js';

export interface GrpcServerOptions {
  /** Address to bind, e.g. 127.0.0.1, 0.0.0.0 or ::1. */
  readonly host: string;
  /** 0 binds a free port; the bound one is in the result. */
  readonly port: number;
  readonly desk: AgentDesk;
  /** Agents' wrap-ups (the call flow); without it CompleteWrapUp is FAILED_PRECONDITION. */
  readonly wrapUps?: WrapUpDesk;
  /** The topology's not-ready reasons and dispositions; the defaults' without it. */
  readonly codes?: DeskCodes;
  readonly status: SiteStatusProvider;
  /** This site's id and its agents' tenants, which authorisation reads. */
  readonly site: SiteFacts;
  /** Where this site's agents' phones may be (the topology's sites[].phoneNetwork). */
  readonly phoneNetwork: PhoneNetwork;
  /** The domain of the site's browser agents' addresses of record (agent-control.ts). */
  readonly sipDomain?: string;
  /** The site's certificate and the federation CA that every client's must come from. */
  readonly tls: TlsMaterial;
  readonly log: Logger;
  /**
   * Pause and resume of calls' recordings, and the recordings the site keeps (library undefined:
   * none). Without it the server records nothing: every pause is FAILED_PRECONDITION.
   */
  readonly recordings?: {
    readonly desk: RecordingDesk;
    readonly library: RecordingLibrary | undefined;
  };
  /**
   * Silent monitoring of the site's live calls (monitor/monitor-service.ts). Without it every
   * StartMonitor is UNAVAILABLE.
   */
  readonly monitors?: MonitorService;
  /** Blind transfer of agents' calls (the call flow). Without it every transfer is refused. */
  readonly transfers?: TransferDesk;
  /** Callbacks (docs/callbacks.md). Without them every callback RPC is UNAVAILABLE. */
  readonly callbacks?: CallbackControl;
  /** Outbound campaigns (docs/campaigns.md). Without them every campaign RPC is UNAVAILABLE. */
  readonly campaigns?: CampaignDesk;
  /** The tenants' customers' numbers here, for campaigns from customer ids (customer-book.ts). */
  readonly customerBook?: CustomerBook;
  /**
   * Callbacks other sites hand over (docs/callbacks.md, "Served at another site"). Without it
   * every HandOverCallback is UNAVAILABLE (after authorisation).
   */
  readonly handovers?: Omit<HandoverRpcDeps, 'site' | 'log'>;
  /** How long close() lets calls in flight finish before cancelling them. Default 5 s. */
  readonly shutdownTimeoutMs?: number;
}

const RECORDS_NOTHING = {
  desk: {
    recordingControl: (agentId: string): never => {
      throw new RecordingControlError(`no call of ${agentId} is recorded here`, 'not_recorded');
    },
  },
  library: undefined,
};

const TRANSFERS_NOTHING: TransferDesk = {
  transfer: (req) => {
    throw new TransferError(
      `no call of ${req.agentId} can be transferred here`,
      'not_transferable',
    );
  },
};

export interface GrpcServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops taking calls, lets those in flight finish (up to the timeout), then closes. Idempotent. */
  close(): Promise<void>;
}

/** Starts serving both services on host:port; rejects, naming the address, when it cannot bind. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const {
    host,
    desk,
    status,
    phoneNetwork,
    sipDomain,
    tls,
    log,
    shutdownTimeoutMs = 5_000,
  } = options;
  const facts = options.site;
  // A campaign's list arrives in one CreateCampaign message, bigger than grpc-js's 4 MiB default.
  const server = createServer({
    ...secureServerOptions,
    'grpc.max_receive_message_length': MAX_SITE_MESSAGE_BYTES,
  });
  const recordings = { ...(options.recordings ?? RECORDS_NOTHING), site: facts, log };
  server.add(site.AgentControlDefinition, {
    ...createAgentControlService({
      desk,
      site: facts,
      phoneNetwork,
      sipDomain,
      log,
      ...(options.wrapUps && { wrapUps: options.wrapUps }),
      ...(options.codes && { codes: options.codes }),
    }),
    ...recordingControlRpcs(recordings),
    ...monitorRpcs({
      monitors:
        options.monitors ??
        new MonitorService({
          book: new MonitorBook({ clock: systemClock, randomHex: () => '' }),
          media: undefined,
          talkingCall: () => undefined,
          log,
        }),
      site: facts,
      log,
    }),
    ...transferCallRpc({ desk: options.transfers ?? TRANSFERS_NOTHING, site: facts, log }),
    ...callbackRpcs({ callbacks: options.callbacks, site: facts, log }),
    ...campaignRpcs({
      campaigns: options.campaigns,
      customers: options.customerBook,
      site: facts,
      log,
    }),
  });
  server.add(site.SiteAgentDefinition, {
    ...createSiteAgentService({ status, site: facts, log }),
    ...fetchRecordingRpc(recordings),
    ...(options.handovers
      ? handOverCallbackRpc({ ...options.handovers, site: facts, log })
      : {
          handOverCallback: async (_req, context) => {
            permit(context, facts, { rpc: 'HandOverCallback' }, log);
            throw new ServerError(
              Status.UNAVAILABLE,
              'this site takes no callbacks from other sites',
            );
          },
          settleCallbackHandover: async (_req, context) => {
            permit(context, facts, { rpc: 'SettleCallbackHandover' }, log);
            throw new ServerError(
              Status.UNAVAILABLE,
              'this site takes no callbacks from other sites',
            );
          },
          getCallbackHandoverOutcome: async (_req, context) => {
            permit(context, facts, { rpc: 'GetCallbackHandoverOutcome' }, log);
            throw new ServerError(Status.UNAVAILABLE, 'this site hands no callbacks over');
          },
        }),
  });

  return serveGrpc(server, {
    host,
    port: options.port,
    log,
    shutdownTimeoutMs,
    credentials: grpcServerCredentials(tls),
  });
}
