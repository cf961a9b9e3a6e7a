// The site agent process: reads its config and the topology, then runs the site.
import {
  createKafka,
  createLogger,
  kafkaCredentialsFromEnv,
  Lifecycle,
  parseEnvConfig,
  partitionCount,
  siteGroupId,
  startProcess,
  principalLabel,
  startTelemetry,
  systemClock,
  tlsFromEnv,
} from '@ccfed/common';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { topicNames } from '@ccfed/proto';
import {
  loadTopology,
  phoneNetwork,
  policyFromTopology,
  siteById,
  sipDomainOf,
  skillById,
} from '@ccfed/topology';
import { siteAgentConfigSchema } from './config.js';
import { EventStamper } from './events/event-meta.js';
import { Outbox } from './events/outbox.js';
import { OUTBOX_PRODUCER_CONFIG, OutboxSender } from './events/outbox-sender.js';
import { EventPublisher } from './events/publisher.js';
import { Acd } from './acd/acd.js';
import { DayStats } from './acd/day-stats.js';
import { acdSetup } from './acd/from-topology.js';
import { AgentRoster, SiteDesk } from './agent-desk.js';
import { CallFlow } from './call-flow.js';
import { CallbackDesk } from './callback/callback-desk.js';
import { CallbackStore } from './callback/callback-store.js';
import { handoverClient } from './callback/handover-client.js';
import { startGrpcServer } from './grpc/server.js';
import { EvapiLink } from './kamailio/evapi-link.js';
import { OverflowOutbound } from './overflow/outbound.js';
import { routerClient } from './overflow/router-client.js';
import { OverflowTrigger } from './overflow/trigger.js';
import { askAftersOf, followPolicyThresholds, thresholdsOf } from './overflow/policy-thresholds.js';
import { DrainSwitch } from './drain.js';
import { exclusionsOf } from './admission.js';
import { CustomerDirectory, followCustomerDirectory } from './customer-directory.js';
import { federationKeys } from './sip-context-signature.js';
import { SnapshotLoop } from './snapshot-loop.js';
import { SiteStateStore } from './site-state.js';
import { setUpRecording } from './recording/recording-setup.js';
import { listenForDtmf } from './media/dtmf-listener.js';
import { PromptFiles } from './media/prompt-files.js';
import { observeQueues } from './telemetry.js';
import { randomBytes } from 'node:crypto';
import { NgClient } from '@ccfed/services';
import { MonitorBook } from './monitor/monitor-book.js';
import { startSiteDialer } from './dialer/dialer-setup.js';
import { AcdCampaignAgents } from './campaign/acd-agents.js';
import { CampaignDesk } from './campaign/campaign-desk.js';
import { CampaignJournal } from './campaign/campaign-journal.js';
import { campaignAttemptEvent } from './campaign/campaign-events.js';
import { CustomerBook } from './campaign/customer-book.js';
import { MonitorService } from './monitor/monitor-service.js';
import { rtpengineMonitorMedia } from './monitor/rtpengine-monitor.js';

await startProcess('site-agent', async () => {
  const config = parseEnvConfig(siteAgentConfigSchema);
  const topology = loadTopology(config.CCFED_TOPOLOGY);
  const site = siteById(topology, config.CCFED_SITE);
  const tls = tlsFromEnv(config);
  // The router and the other sites take this process for the site its certificate names.
  if (tls.self.kind !== 'site' || tls.self.site !== site.id)
    throw new Error(
      `${config.CCFED_TLS_CERT} names ${principalLabel(tls.self)}; the site agent of ${site.id} needs a certificate for site:${site.id}`,
    );
  const log = createLogger('site-agent').child({ site: site.id });
  const lifecycle = new Lifecycle({ log });
  lifecycle.install();
  // First, so that every meter and tracer below is the SDK's when OTEL_* asks for telemetry.
  const telemetry = await startTelemetry({
    serviceName: 'site-agent',
    attributes: { 'ccfed.site': site.id },
    log,
  });

  const topics = topicNames(config.CCFED_TOPIC_PREFIX);
  const kafka = createKafka({
    brokers: config.CCFED_KAFKA_BROKERS,
    clientId: `ccfed-site-${site.id}`,
    credentials: kafkaCredentialsFromEnv(config),
    log,
  });
  // Events go to a disk outbox first: calls are served and recorded whether Kafka is reachable
  // or not, and the sender delivers them in order when it is.
  const outbox = Outbox.open({
    dir: join(config.CCFED_DATA_DIR, 'outbox'),
    log,
    maxBytes: config.CCFED_OUTBOX_MAX_BYTES,
  });
  const sender = new OutboxSender({
    outbox,
    log,
    createProducer: () => kafka.producer(OUTBOX_PRODUCER_CONFIG),
    partitionsOf: (topic) => partitionCount(kafka, topic),
    onFatal: () => void lifecycle.shutdown('outbox sender failed', 1),
  });
  const publisher = new EventPublisher({ outbox, topics });
  const stamper = new EventStamper({ clock: systemClock, siteId: site.id });
  const acd = new Acd({ clock: systemClock, ...acdSetup(topology, site) });
  const dayStats = new DayStats(systemClock, site.timezone);
  const drain = new DrainSwitch(join(config.CCFED_DATA_DIR, 'drain.json'));
  const snapshots = new SnapshotLoop({
    acd,
    dayStats,
    publisher,
    stamper,
    log,
    intervalMs: config.CCFED_SNAPSHOT_INTERVAL_MS,
    operatorTenant: topology.federation.name,
    acceptingOverflow: () => !drain.current.drained,
  });
  observeQueues(() => snapshots.current());

  // Calls the tenants' policies record, sealed per tenant and kept here (docs/media.md).
  const recording = await setUpRecording({
    config,
    topology,
    siteId: site.id,
    publish: (event) => publisher.recordingEvent(event),
    stamper,
    clock: systemClock,
    log,
  });

  const roster = new AgentRoster(site.agents.map((a) => a.id));
  // Callers who are not behind a trusted IVR are identified by their number's hash here.
  const directory = new CustomerDirectory();
  const directoryFeed = config.CCFED_CALLER_HASH_KEY
    ? followCustomerDirectory({
        kafka,
        topic: topics.customerDirectory,
        directory,
        groupId: siteGroupId(site.id, 'directory'),
        log,
      })
    : undefined;
  // The outbound dialer (docs/dialer.md): a site with an outbound trunk calls customers back and
  // for campaigns through its own Kamailio; callbacks and pacing use it through dialer/port.ts.
  const siteDialer = await startSiteDialer({
    topology,
    site,
    sipSecret: config.CCFED_SIP_SECRET,
    callerHashKey: config.CCFED_CALLER_HASH_KEY,
    dataDir: config.CCFED_DATA_DIR,
    contactOf: (agentId) => roster.contactOf(agentId),
    stamp: (tenantId) => stamper.stamp(tenantId),
    publish: (event) => publisher.callEvent(event),
    // the ACD's call of that id (a callback's) ends: its agent goes to wrap-up
    onCallEnded: (request) => {
      try {
        calls.carryOut(acd.hangUp(request.callId).effects);
      } catch (err) {
        log.warn(
          { event: 'dialer_call_unknown', callId: request.callId, err: String(err) },
          'a dialed call ended that the ACD does not hold as talking',
        );
      }
    },
    clock: systemClock,
    log,
  });
  const keys = federationKeys(config.CCFED_FEDERATION_KEY, config.CCFED_FEDERATION_KEY_PREVIOUS);
  // A pending callback the router gives to another site goes there over mutual TLS, signed.
  const handovers = handoverClient({ topology, tls, signingKey: keys[0]!, clock: systemClock });
  // Callbacks (docs/callbacks.md), kept in the data directory across restarts. The dialer that
  // calls customers back plugs in as `dialer` (the port: dialer/port.ts); without one a
  // callback's turn reserves its agent, lets it go, and the callback stays pending (logged).
  const callbacks = new CallbackDesk({
    clock: systemClock,
    topology,
    acd,
    store: new CallbackStore(join(config.CCFED_DATA_DIR, 'callbacks')),
    dialer: siteDialer?.dialer,
    stamper,
    publisher,
    log,
    callerHashKey: config.CCFED_CALLER_HASH_KEY,
    siteId: site.id,
    handoverChannel: handovers,
  });
  // What a restart must not lose (agents' states, calls' places and states): read before anything
  // changes, saved after every change (docs/operations.md, "Site agent restart").
  const siteState = new SiteStateStore({
    file: join(config.CCFED_DATA_DIR, 'site-state.json'),
    now: () => systemClock.now(),
    log,
  });
  const previous = siteState.load();
  const saveState = () =>
    siteState.save(() => ({
      acd: acd.snapshot(),
      roster: roster.snapshot(),
      calls: calls.snapshot(),
    }));
  const calls = new CallFlow({
    clock: systemClock,
    topology,
    site,
    acd,
    roster,
    dayStats,
    stamper,
    publisher,
    // The link is created next; only its own events make the call flow send commands.
    sendToKamailio: (command) => link.send(command),
    log,
    // A call that ends ends its monitors (created below, before any call can arrive).
    onChange: () => {
      snapshots.changed();
      monitors.sweep();
      saveState();
    },
    drained: () => drain.current.drained,
    // An overflowed-in call is taken within the threshold in force (routing policy, below).
    overflowThresholdMs: () => thresholdMs,
    callerHashKey: config.CCFED_CALLER_HASH_KEY,
    federationKeys: keys,
    directory,
    // A tenant's calls are refused where the routing policy in force excludes it (below).
    tenantExclusions: () => tenantExclusions,
    recorder: recording.recorder,
    // What queued callers hear, played by the site's rtpengine through Kamailio.
    prompts: PromptFiles.open(config.CCFED_PROMPTS_DIR, log),
    callbacks,
  });
  // The previous run's agents and calls as they were; Kamailio's resync (on connection) says which
  // calls are still there, and only then are waiting calls given to ready agents.
  // Outbound campaigns' journal (a site runs campaigns only with a dialer).
  const campaignsDir = join(config.CCFED_DATA_DIR, 'campaigns');
  if (previous) {
    // The ACD's own entries of the call flow's calls: callbacks are restored by their desk, from
    // their own store (callbacks.restore(), below). And the agents reserved for the campaigns'
    // open previews, which the campaigns take up (campaigns.open(), below) or let go.
    const kept = new Set([
      ...previous.calls.map((c) => c.state.callId),
      ...(siteDialer ? new CampaignJournal(campaignsDir).openOffers() : []).map((o) => o.callId),
    ]);
    const problems = acd.restore({
      agents: previous.acd.agents,
      calls: previous.acd.calls.filter((c) => kept.has(c.call.callId)),
    });
    roster.restore(previous.roster);
    calls.restore(previous.calls);
    for (const problem of problems)
      log.warn({ event: 'site_state_problem' }, `left out of the site state: ${problem}`);
    log.info(
      {
        event: 'site_state_restored',
        agents: previous.acd.agents.filter((a) => a.state.name !== 'logged_out').length,
        calls: previous.calls.length,
      },
      'took up the previous run’s agents and calls',
    );
  }
  // Outbound campaigns (docs/campaigns.md), kept in the data directory across restarts; a site
  // runs them only with a dialer. Inbound first: a campaign's line takes an idle agent only while
  // no caller of its tenant waits and the skill's service level today holds its target.
  const campaigns = siteDialer
    ? new CampaignDesk({
        clock: systemClock,
        dialer: siteDialer.dialer,
        agents: new AcdCampaignAgents({
          acd,
          now: () => systemClock.now(),
          effects: (fx) => calls.carryOut(fx),
          serviceLevel: (skillId) => {
            const today = dayStats.forSkill(skillId);
            // A campaign runs only on a skill the site's agents serve, so one the topology has.
            const skill = skillById(topology, skillId);
            if (!skill) throw new Error(`skill ${skillId} is not in the topology`);
            return {
              offered: today.offered,
              answeredWithinTarget: today.answeredWithinThreshold,
              target: skill.serviceLevel.targetPercent / 100,
            };
          },
          minOffered: 20,
        }),
        journal: new CampaignJournal(campaignsDir),
        serves: (tenantId, skill) =>
          site.agents.some((a) => a.tenant === tenantId && skill in a.skills),
        newId: () => randomUUID(),
        failed: (campaignId, err) =>
          log.error(
            { event: 'campaign_paused_on_error', campaignId, err: String(err) },
            'a campaign could not dial and was paused',
          ),
        // Beside the dialer's own dial_attempted event of the same attempt (docs/dialer.md).
        published: (r, definition) => {
          log.info(
            {
              event: 'campaign_attempt',
              campaignId: r.campaignId,
              tenantId: r.tenantId,
              contactId: r.contactId,
              attemptId: r.attemptId,
              callId: r.callId,
              agentId: r.agentId,
              outcome: r.outcome,
            },
            'campaign attempt ended',
          );
          publisher
            .callEvent(campaignAttemptEvent(r, definition, stamper.stamp(r.tenantId)))
            .catch((err: unknown) =>
              log.error(
                { event: 'campaign_event_failed', attemptId: r.attemptId, err: String(err) },
                'could not write a campaign attempt event to the outbox',
              ),
            );
        },
      })
    : undefined;
  // The digits callers press, as the site's rtpengine reports them (topology site.media.dtmfPort).
  const dtmf = await listenForDtmf({
    port: site.media.dtmfPort,
    log,
    onDigit: (event) => calls.dtmf(event),
  });
  if (!config.CCFED_CALLER_HASH_KEY)
    log.warn(
      { event: 'caller_hash_disabled' },
      'CCFED_CALLER_HASH_KEY is not set: calls are recorded without a caller hash (repeat contacts are found by customer id only), and callers are not identified by the customer directory',
    );
  const link = new EvapiLink({
    host: site.evapi.host,
    port: site.evapi.port,
    log,
    onEvent: (event) => calls.handle(event),
    onConnected: (up) => {
      if (up) calls.linkUp();
      else calls.linkLost();
    },
  });

  // Overflow: calls waiting past their skill's threshold ask the central router, if there is one.
  // Until the routing-policy topic says otherwise: the topology file's policy (version 0).
  const filePolicy = policyFromTopology(topology);
  const thresholdMs = thresholdsOf(filePolicy);
  const askAfterMs = askAftersOf(filePolicy);
  let tenantExclusions = exclusionsOf(filePolicy.tenantExclusions);
  // HQ's routing-policy edits change the thresholds and tenant exclusions while the site runs
  // (policy-thresholds.ts); followed with or without a router, for the exclusions.
  const policyThresholds = followPolicyThresholds({
    kafka,
    topic: topics.routingPolicy,
    topology,
    thresholdMs,
    askAfterMs,
    groupId: siteGroupId(site.id, 'policy'),
    log,
    onApplied: (doc) => (tenantExclusions = exclusionsOf(doc.tenantExclusions)),
  });
  const router = config.CCFED_ROUTER
    ? routerClient({
        addresses: config.CCFED_ROUTER,
        siteId: site.id,
        deadlineMs: topology.routing.requestDeadlineMs,
        hedgeAfterMs: config.CCFED_ROUTER_HEDGE_MS,
        tls,
        clock: systemClock,
        log,
      })
    : undefined;
  const outbound = router
    ? new OverflowOutbound({
        clock: systemClock,
        log,
        thresholdMs,
        trigger: new OverflowTrigger({
          thresholdMs,
          askAfterMs,
          reRequestIntervalMs: topology.routing.reRequestIntervalSeconds * 1000,
        }),
        // Pending callbacks ask as callers do; the router's choice hands them over (no SIP).
        waiting: () => [...calls.waitingCalls(), ...callbacks.waitingCallbacks()],
        ask: router.ask,
        requested: (q, threshold) => {
          if (!callbacks.holds(q.callId))
            calls.overflowRequested(q.callId, q.expectedWaitMs, threshold);
        },
        moveOut: (callId, target) =>
          callbacks.holds(callId)
            ? callbacks.handOver(callId, target)
            : calls.moveOut(callId, target),
      })
    : undefined;

  // Silent monitoring through the site's rtpengine, whose ng port the topology places on loopback
  // (CCFED_RTPENGINE_NG when the site records, the same port).
  const monitorNg = await NgClient.open({
    host: '127.0.0.1',
    port: config.CCFED_RTPENGINE_NG
      ? Number(config.CCFED_RTPENGINE_NG.slice(config.CCFED_RTPENGINE_NG.lastIndexOf(':') + 1))
      : site.media.ngPort,
  });
  const monitors = new MonitorService({
    book: new MonitorBook({ clock: systemClock, randomHex: () => randomBytes(16).toString('hex') }),
    media: rtpengineMonitorMedia(monitorNg),
    talkingCall: (callId) => calls.talkingCall(callId),
    log,
  });

  const grpc = await startGrpcServer({
    host: site.grpc.host,
    port: site.grpc.port,
    desk: new SiteDesk({ acd, topology, roster, carryOut: (fx) => calls.carryOut(fx) }),
    wrapUps: calls,
    codes: {
      notReadyReasons: new Set(topology.notReadyReasons.map((r) => r.code)),
      dispositions: new Set(topology.dispositions.map((d) => d.code)),
    },
    status: {
      snapshot: () => snapshots.current(),
      evapiConnected: () => link.isConnected,
      kafkaConnected: () => sender.connected,
      bufferedEvents: () => sender.pending,
      drain: () => drain.current,
      setDrained: (drained, reason) => {
        const before = drain.set(drained, reason, systemClock.now());
        snapshots.changed();
        return before;
      },
    },
    site: {
      siteId: site.id,
      agentTenants: new Map(site.agents.map((a) => [a.id, a.tenant])),
      peerSites: new Set(topology.sites.filter((s) => s.id !== site.id).map((s) => s.id)),
    },
    phoneNetwork: phoneNetwork(site.phoneNetwork),
    sipDomain: sipDomainOf(site),
    tls,
    log,
    recordings: { desk: calls, library: recording.library },
    monitors,
    transfers: calls,
    callbacks: {
      forCall: (callId, by, tenants) => calls.requestCallback(callId, by, tenants),
      schedule: (req) => callbacks.schedule(req),
      pending: (tenants, skill) => callbacks.pending(tenants, skill),
      cancel: (id, tenants, by) => callbacks.cancel(id, tenants, by),
    },
    ...(campaigns && { campaigns }),
    // The tenants' CRM exports of their customers' numbers and zones, for campaigns from the
    // churn list and the survey sample (docs/campaigns.md, "Lists from HQ").
    customerBook: new CustomerBook(join(config.CCFED_DATA_DIR, 'crm-contacts')),
    handovers: {
      receiver: {
        receive: (h) =>
          callbacks.receiveHandover(h, {
            thresholdMs: thresholdMs.get(h.skill),
            drained: drain.current.drained,
          }),
        settle: (s) => callbacks.settleHandover(s),
        outcome: (q) => callbacks.handoverOutcome(q),
      },
      topology,
      federationKeys: keys,
      clock: systemClock,
    },
  });

  // Stop taking calls first (Kamailio then holds new ones for its restart grace, then answers them
  // with the fallback), then timers, then flush events. The site state first of all: the calls stay with Kamailio, and the next run
  // takes them up from it as they are now.
  lifecycle.onShutdown('keep the site state', () => siteState.freeze());
  // The handovers' confirm step, every second: decisions told again until the target answers,
  // provisional callbacks asked about (docs/callbacks.md, "Never at two sites").
  const handoverTicks = setInterval(() => callbacks.tick(), 1_000);
  lifecycle.onShutdown('stop overflow requests', async () => {
    clearInterval(handoverTicks);
    await outbound?.stop();
    router?.close();
    handovers.close();
    await policyThresholds.stop();
    await directoryFeed?.stop();
  });
  lifecycle.onShutdown('close evapi link', () => link.stop());
  lifecycle.onShutdown('close DTMF listener', () => dtmf.close());
  lifecycle.onShutdown('stop control API', () => grpc.close());
  lifecycle.onShutdown('end monitors', async () => {
    await monitors.stopAll();
    await monitorNg.close();
  });
  lifecycle.onShutdown('stop campaigns', () => campaigns?.close());
  lifecycle.onShutdown('end dialed calls', async () => void (await siteDialer?.stop()));
  // the attempts the dialer's stop ended are journalled before the outbox closes
  lifecycle.onShutdown('journal campaign attempts', async () => void (await campaigns?.settled()));
  lifecycle.onShutdown('stop call timers', () => calls.stop());
  // After the calls' stop: what they recorded so far is sealed before the outbox is flushed (what
  // does not finish in time is finished from rtpengine's spool at the next start).
  lifecycle.onShutdown('finish recordings', () => recording.stop(10_000));
  lifecycle.onShutdown('stop snapshots', () => snapshots.stop());
  lifecycle.onShutdown('flush event outbox', async () => void (await sender.flush(5_000)));
  lifecycle.onShutdown('stop outbox sender', () => sender.stop(5_000));
  lifecycle.onShutdown('close event outbox', () => outbox.close());
  lifecycle.onShutdown('flush telemetry', () => telemetry.shutdown());

  // Pending callbacks back in their places, once everything their effects reach is wired.
  callbacks.restore();
  // The same for campaigns: the journalled ones, running again (ticks from here on).
  campaigns?.open();
  sender.start();
  snapshots.start();
  recording.start();
  link.start();
  outbound?.start();
  log.info(
    {
      event: 'site_agent_started',
      sip: site.sip,
      evapi: site.evapi,
      grpc: site.grpc,
      dtmf: dtmf.port,
      router: config.CCFED_ROUTER?.join(',') ?? 'none: every call is routed locally',
      dialer: siteDialer ? 'through the outbound trunk' : 'none: the site has no sip.trunk',
    },
    'site agent started',
  );
});
