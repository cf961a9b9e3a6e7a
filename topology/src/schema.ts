import { z } from 'zod';
import { LOOPBACK_PHONE_NETWORK, phoneNetworkEntryProblem } from './phone-network.js';
import { tenantRecordingSchema } from './recording-policy.js';

// The federation topology: sites, their SIP ingress and control endpoints, skills, agents,
// dialed numbers, tenants and routing policy. Every part of ccfed (site agent, router, Kamailio
// config generator, Pulumi program) derives from one file that satisfies this schema.
//
// Objects are strict: an unknown key is an error, so a typo ("agnets") is caught at load time
// instead of silently meaning "no agents".

/** What an id (site, skill, agent, tenant) looks like; the control API checks requests against it. */
export const ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
const id = z
  .string()
  .regex(
    ID_PATTERN,
    'expected an id: lowercase letters, digits and "-", starting with a letter, at most 32 characters',
  );

// Loopback, addresses and plain host names; the generator writes these into Kamailio config, so
// nothing that could break out of a quoted string is accepted.
const host = z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'expected a host name or IPv4 address');
const port = z
  .number()
  .int('expected a whole port number')
  .min(1, 'expected a port from 1 to 65535')
  .max(65535, 'expected a port from 1 to 65535');
const endpoint = z.strictObject({ host, port });

const sipUri = z
  .string()
  .regex(
    /^sips?:[A-Za-z0-9._~+-]+@[A-Za-z0-9.-]+(:\d{1,5})?(;[A-Za-z0-9=._-]+)*$/,
    'expected a SIP URI like sip:user@host:port',
  );

/**
 * A source the site trusts with X-CC-* context (an IVR or SBC in front of it): an IPv4 address,
 * optionally a network (`/bits`), optionally one port (`:port`; any port without one), e.g.
 * `10.20.0.0/16`, `192.0.2.10:5060`. Addresses only: trust never depends on DNS.
 */
export const TRUSTED_SOURCE_PATTERN =
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)(\/(3[0-2]|[12]?\d))?(:([1-9]\d{0,4}))?$/;
const trustedSource = z
  .string()
  .regex(
    TRUSTED_SOURCE_PATTERN,
    'expected an IPv4 address, optionally /bits and :port, e.g. 10.20.0.0/16 or 192.0.2.10:5060',
  )
  .refine(
    (s) => Number(s.split(':')[1] ?? 1) <= 65535,
    'expected a port from 1 to 65535 after the address',
  );

const seconds = z.number().nonnegative('expected a number of seconds, 0 or more');
const positiveSeconds = z.number().positive('expected a number of seconds greater than 0');

/** The languages queue announcements are rendered in (services/src/media/announcement.ts). */
export const LANGUAGES = ['zh', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
/** A number's callers hear Mandarin unless the topology says otherwise. */
export const DEFAULT_LANGUAGE: Language = 'zh';

/** What a queued caller of a skill hears (docs/media.md, "The queue experience"). */
export const DEFAULT_QUEUE_MEDIA = {
  ringbackSeconds: 5,
  announceEverySeconds: 30,
} as const;

const skill = z.strictObject({
  id,
  name: z.string().min(1),
  /** Service level: the share of calls to answer within the threshold, e.g. 80 % in 20 s. */
  serviceLevel: z.strictObject({
    thresholdSeconds: positiveSeconds,
    targetPercent: z.number().min(0).max(100),
  }),
  /** A caller who hangs up within this is a short abandon (a misdial): not a service failure. */
  shortAbandonSeconds: seconds.default(5),
  /** After-call work every agent does on this skill before being ready again. */
  wrapUpSeconds: seconds,
  /** Starting estimate of talk + wrap-up, until the site has learned it from finished calls. */
  averageHandleSeconds: positiveSeconds.default(180),
  /**
   * The most calls of this skill one site keeps waiting; beyond it the site answers new callers
   * 503 with Retry-After (and another site's overflow 486), instead of queueing without bound.
   */
  queueLimit: z
    .strictObject({
      maxQueued: z.number().int('expected a whole number of calls').min(1),
      retryAfterSeconds: z.number().int().min(1).max(3600),
    })
    .default({ maxQueued: 200, retryAfterSeconds: 30 }),
  /**
   * What a queued caller hears, as early media from the site's rtpengine: ringback for about
   * ringbackSeconds (whole cadence periods, at least one), then their position and expected wait,
   * then music on hold; the announcement again every announceEverySeconds from the call's entry.
   * `music` names a file of Debian's asterisk-moh-opsound-wav (without .wav); default the first.
   */
  queueMedia: z
    .strictObject({
      ringbackSeconds: seconds.default(DEFAULT_QUEUE_MEDIA.ringbackSeconds),
      announceEverySeconds: z
        .number()
        .min(5, 'expected at least 5 seconds between announcements')
        .default(DEFAULT_QUEUE_MEDIA.announceEverySeconds),
      music: z
        .string()
        .regex(
          /^[a-z0-9_-]{1,64}$/,
          'expected the name of a music-on-hold file, e.g. macroform-cold_day',
        )
        .optional(),
    })
    .default({ ...DEFAULT_QUEUE_MEDIA }),
  /** A call still waiting after afterSeconds may also go to agents of this other skill. */
  secondChoice: z.strictObject({ skill: id, afterSeconds: positiveSeconds }).optional(),
  overflow: z
    .strictObject({
      /**
       * A queued call whose expected total wait (waited so far + still expected) exceeds this
       * asks the router for a better site.
       */
      expectedWaitThresholdSeconds: positiveSeconds,
      /**
       * A queued call that has waited this long asks too, whatever its forecast: the service-level
       * guard. Set a little under the skill's service-level threshold, it moves the calls about to
       * miss it (and only those) while another site has a free agent.
       */
      askAfterWaitingSeconds: positiveSeconds.optional(),
      /** Move a call only when the target's expected wait is at least this much shorter. */
      minImprovementSeconds: seconds,
    })
    .optional(),
  /**
   * Callbacks (docs/callbacks.md): a queued caller whose expected wait passes offerAfterSeconds
   * is offered "press 1 and we call you back"; the callback keeps the caller's place. Absent:
   * callbacks are neither offered nor accepted for this skill.
   */
  callback: z
    .strictObject({
      offerAfterSeconds: positiveSeconds,
      maxAttempts: z
        .number()
        .int('expected a whole number of attempts')
        .min(1, 'expected at least 1 attempt')
        .max(10, 'expected at most 10 attempts'),
      retryAfterSeconds: z.number().min(10, 'expected at least 10 seconds between attempts'),
      /** Who is rung first: agent-first (the customer never waits for an agent) by default. */
      order: z.enum(['agent_first', 'customer_first']).default('agent_first'),
      /** How long the customer's phone may ring before the attempt counts as not answered. */
      ringTimeoutSeconds: positiveSeconds.default(30),
      /** The callbacks' own service level: connected within this of the request (docs/kpis.md). */
      serviceLevelSeconds: positiveSeconds.default(1800),
    })
    .optional(),
});

const agent = z.strictObject({
  id,
  name: z.string().min(1),
  tenant: id,
  /** Skill id → proficiency, 1 (lowest) to 10 (best). */
  skills: z
    .record(
      z.string(),
      z.number().int('expected a whole proficiency').min(1).max(10, 'expected proficiency 1..10'),
    )
    .refine((s) => Object.keys(s).length > 0, 'an agent needs at least one skill'),
});

const dialedNumber = z.strictObject({
  number: z.string().regex(/^\+?[0-9]{3,20}$/, 'expected a dialed number: digits, optional +'),
  skill: id,
  tenant: id,
  /** The language its queued callers are told their position and wait in: zh (Mandarin) or en. */
  language: z.enum(LANGUAGES).default(DEFAULT_LANGUAGE),
});

const fallback = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('reject'),
    code: z.union([z.literal(480), z.literal(486), z.literal(503)]),
    retryAfterSeconds: z.number().int().min(1).max(3600),
  }),
  z.strictObject({ action: z.literal('relay'), uri: sipUri }),
]);

const phoneNetworkEntry = z.string().superRefine((entry, ctx) => {
  const problem = phoneNetworkEntryProblem(entry);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const rtpPortRange = z
  .strictObject({ min: port, max: port })
  .refine(
    (r) => r.min % 2 === 0,
    'expected an even first port: RTP takes the even port, RTCP the next',
  )
  .refine(
    (r) => r.max - r.min >= 3,
    'expected at least 4 ports (one call: two parties, RTP and RTCP)',
  );

/** Where the site's rtpengine listens when the topology does not say (one site per host). */
export const DEFAULT_SITE_MEDIA = {
  ngPort: 2223,
  ngHttpPort: 2225,
  dtmfPort: 2224,
  rtpPorts: { min: 20000, max: 29999 },
  ringback: 'cn',
} as const;

/**
 * The site's rtpengine, which anchors every call's media (docs/media.md). Its control ports (ng,
 * ng over HTTP) and the DTMF log the site agent listens on are on the site host's loopback: ng has
 * no authentication, so Kamailio, rtpengine and the site agent share a host (a pod).
 */
const siteMedia = z.strictObject({
  /** The address RTP is exchanged on and written into SDP; default the site's sip.host. */
  host: host.optional(),
  /** rtpengine's ng control port (UDP, loopback). */
  ngPort: port.default(DEFAULT_SITE_MEDIA.ngPort),
  /** ng over HTTP (TCP, loopback): Kamailio's early-media answer before suspending an INVITE. */
  ngHttpPort: port.default(DEFAULT_SITE_MEDIA.ngHttpPort),
  /** Where rtpengine reports each DTMF digit and the site agent listens (UDP, loopback). */
  dtmfPort: port.default(DEFAULT_SITE_MEDIA.dtmfPort),
  /** RTP and RTCP ports: four per call (caller and agent side, RTP and RTCP). */
  rtpPorts: rtpPortRange.default({ ...DEFAULT_SITE_MEDIA.rtpPorts }),
  /** The ringback cadence callers expect: cn (450 Hz, 1 s on 4 s off) or na (440+480 Hz, 2 s / 4 s). */
  ringback: z.enum(['cn', 'na']).default(DEFAULT_SITE_MEDIA.ringback),
});

const site = z.strictObject({
  id,
  name: z.string().min(1),
  timezone: z.string().min(1),
  /** Where callers and other sites send INVITEs: the site's Kamailio. */
  sip: z.strictObject({
    host,
    port,
    transport: z.enum(['udp', 'tcp']).default('udp'),
    /** Kamailio's SIP-over-TLS listener for the site's TLS peer links (peerLinks). */
    tlsPort: port.optional(),
    /**
     * The domain of the site's browser agents' addresses of record, sip:<agent id>@<domain>
     * (default <site id>.ccfed.invalid: a name only this site's Kamailio answers for).
     */
    domain: host.optional(),
    /**
     * SIP over plain WebSocket for browser agents, on 127.0.0.1 only: for local runs, tests, or a
     * TLS-terminating ingress on the same host.
     */
    wsPort: port.optional(),
    /** SIP over secure WebSocket for browser agents on sip.host, with the site's certificate. */
    wssPort: port.optional(),
    /**
     * The site's outbound trunk, sip:<host>:<port> (docs/dialer.md): where the site's dialer
     * (callbacks, campaigns) calls customers. Only the dialer may use it; it connects to Kamailio
     * over the loopback WebSocket listener, so a site with a trunk needs sip.wsPort.
     */
    trunk: z
      .string()
      .regex(
        /^sip:[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$/,
        'expected sip:<host>:<port>, e.g. sip:trunk.example.com:5060',
      )
      .optional(),
    /**
     * The name browsers connect to for wss (wss://<wssHost>:<wssPort>), which the wss listener's
     * browser-trusted certificate names; default sip.host. A deployed site needs it: a browser
     * trusts a certificate for a name, not for the address Kamailio binds.
     */
    wssHost: host.optional(),
    /**
     * INVITEs one untrusted source address may send: above about this many a second (Kamailio's
     * pike module, averaged over 2 s) its INVITEs are dropped for banSeconds. Peer sites and
     * trusted sources are not limited.
     */
    inviteLimit: z
      .strictObject({
        perSourcePerSecond: z.number().int().min(1).max(10_000),
        banSeconds: z.number().int().min(1).max(86_400),
      })
      .default({ perSourcePerSecond: 20, banSeconds: 60 }),
  }),
  /**
   * Addresses whose X-CC-* headers this site honours besides its peer sites (an IVR or SBC in
   * front of it); anyone else's are removed by Kamailio (docs/security.md, "SIP").
   */
  trustedSources: z.array(trustedSource).default([]),
  /** Kamailio's evapi listener, which the site agent connects to. */
  evapi: endpoint,
  /** The site agent's gRPC server (overflow offers, status, agent control). */
  grpc: endpoint,
  /** The site's rtpengine (media anchoring, queue prompts, DTMF). */
  media: siteMedia.default({ ...DEFAULT_SITE_MEDIA, rtpPorts: { ...DEFAULT_SITE_MEDIA.rtpPorts } }),
  /** Added to this site's expected wait when the router compares sites (like BSR adjust-by). */
  handicapSeconds: seconds.default(0),
  /** Where calls go while the site agent is unreachable from Kamailio. */
  fallback,
  numbers: z.array(dialedNumber).default([]),
  agents: z.array(agent).default([]),
  /**
   * Where the site's agents' phones are: CIDR blocks, addresses and host names ("*.domain" for
   * every host under it). An agent may log in only at a contact URI inside it, since the site
   * relays its calls there. Without it, this host's loopback only: a site that does not say where
   * its phones are refuses remote ones (with a message naming this field) rather than accepting
   * phones anywhere.
   */
  phoneNetwork: z
    .array(phoneNetworkEntry)
    .min(1, 'expected at least one CIDR block, address or host name')
    .default([...LOOPBACK_PHONE_NETWORK]),
});

/**
 * A code an agent picks on the desktop (a not-ready reason, a wrap-up disposition): what events
 * and ClickHouse carry, so it follows the site agent's reason-code rule.
 */
export const DESK_CODE_PATTERN = /^[a-z0-9_-]{1,32}$/;
const deskCode = z.strictObject({
  code: z.string().regex(DESK_CODE_PATTERN, 'expected 1-32 lowercase letters, digits, - or _'),
  name: z.string().min(1).max(64),
});

/** Not-ready reasons an agent may give when the topology names none. */
export const DEFAULT_NOT_READY_REASONS = [
  { code: 'break', name: 'Break' },
  { code: 'lunch', name: 'Lunch' },
  { code: 'training', name: 'Training' },
  { code: 'meeting', name: 'Meeting' },
  { code: 'coaching', name: 'Coaching' },
] as const;

/** Wrap-up dispositions an agent may record when the topology names none. */
export const DEFAULT_DISPOSITIONS = [
  { code: 'resolved', name: 'Resolved' },
  { code: 'follow-up', name: 'Follow-up needed' },
  { code: 'escalated', name: 'Escalated' },
  { code: 'sale', name: 'Sale made' },
  { code: 'no-sale', name: 'No sale' },
  { code: 'wrong-number', name: 'Wrong number' },
] as const;

const tenant = z.strictObject({
  id,
  name: z.string().min(1),
  /** Which of the tenant's calls are recorded and for how long (recording-policy.ts). */
  recording: tenantRecordingSchema.optional(),
});

/**
 * A reservation lasts from the decision until the target's next snapshot counts the call, about
 * two seconds (SIP transfer, then a snapshot every second): 10 holds a sustained 5 overflows a
 * second from one site, more than a site's queue sends, while a flood of requests from one origin
 * holds no more than 10 agents' worth of capacity across the whole federation.
 */
export const DEFAULT_MAX_RESERVATIONS_PER_ORIGIN = 10;

/** See routing.peerSilenceSeconds: 20 s of an agent's ringing plus one 5 s refresh, and slack. */
export const DEFAULT_PEER_SILENCE_SECONDS = 30;

/**
 * What an unanswered keepalive costs on top of its interval, in Kamailio (ccfed.cfg): up to 1 s
 * until the dialog module's keepalive timer (ka_timer) sends it, 5 s until tm gives up on its reply
 * (fr_timer), the 10 s the dialog module then leaves the dialog, and 1 s of its dialog timer's tick
 * before the BYEs go.
 */
export const KEEPALIVE_FAILURE_SECONDS = 17;
/** Kamailio's dialog module refuses to start with keepalives more often than this (ka_interval). */
export const MIN_KEEPALIVE_INTERVAL_SECONDS = 30;
/** See routing.talkingPeerSilenceSeconds: a minute, a keepalive every 43 s. */
export const DEFAULT_TALKING_PEER_SILENCE_SECONDS = 60;
/** The shortest routing.talkingPeerSilenceSeconds: a keepalive every 30 s. */
export const MIN_TALKING_PEER_SILENCE_SECONDS =
  MIN_KEEPALIVE_INTERVAL_SECONDS + KEEPALIVE_FAILURE_SECONDS;

/**
 * How two sites' Kamailios talk to each other when one overflows a call to the other: `tls` (both
 * sites need sip.tlsPort; each side checks the other's certificate names its site) or `plain`
 * (the target's sip.transport; the peer is trusted by its address). Pairs not listed are plain.
 */
const peerLink = z.strictObject({
  sites: z.tuple([id, id]),
  transport: z.enum(['tls', 'plain']),
});

const routing = z.strictObject({
  /** A site whose last snapshot is older than this is never an overflow target. */
  staleAfterSeconds: positiveSeconds,
  /** Capacity reserved at a target for an overflow offer is released after this. */
  reservationTimeoutSeconds: positiveSeconds,
  /** The site agent's deadline for RequestRoute; on expiry the call stays local. */
  requestDeadlineMs: z.number().int().min(10).max(10_000),
  /** How often a still-queued call asks the router again. */
  reRequestIntervalSeconds: positiveSeconds,
  /**
   * The longest an overflowed INVITE may go without a provisional reply from its target site
   * before the origin takes the call back (408). The target refreshes a call it queues with
   * `100 Queued` every sixth of this, so only a target that is gone (a cut link, a dead
   * Kamailio) stays silent that long; its agents must ring for less than this minus one refresh.
   */
  peerSilenceSeconds: z
    .number()
    .int('expected a whole number of seconds')
    .min(6, 'expected at least 6 seconds')
    .max(300, 'expected at most 300 seconds')
    .default(DEFAULT_PEER_SILENCE_SECONDS),
  /**
   * The longest a call talking between two sites stays up once the other site stops answering
   * (a cut link, a dead Kamailio): each site's Kamailio sends in-dialog keepalives to the other's
   * over the inter-site leg only, and when one goes unanswered it hangs up its own side with a
   * BYE and frees the agent. Kamailio keepalives no more often than every 30 s, so this is at
   * least 47 s (MIN_TALKING_PEER_SILENCE_SECONDS).
   */
  talkingPeerSilenceSeconds: z
    .number()
    .int('expected a whole number of seconds')
    .min(
      MIN_TALKING_PEER_SILENCE_SECONDS,
      `expected at least ${MIN_TALKING_PEER_SILENCE_SECONDS} seconds (Kamailio keepalives no more often than every 30 s)`,
    )
    .max(3600, 'expected at most 3600 seconds')
    .default(DEFAULT_TALKING_PEER_SILENCE_SECONDS),
  /**
   * Reservations one origin site may hold at once (overflows the router sent that their targets
   * do not show yet). Beyond it the origin's calls stay: one site, buggy or compromised, cannot
   * make every target look full to the others.
   */
  maxReservationsPerOrigin: z
    .number()
    .int('expected a whole number of reservations')
    .min(1, 'expected at least 1 reservation')
    .max(100_000, 'expected at most 100000 reservations')
    .default(DEFAULT_MAX_RESERVATIONS_PER_ORIGIN),
  /** Sites that must never receive a tenant's calls (contracts, data residency). */
  tenantRestrictions: z
    .array(z.strictObject({ tenant: id, excludedSites: z.array(id).min(1) }))
    .default([]),
});

export const topologySchema = z
  .strictObject({
    federation: z.strictObject({ name: z.string().min(1), hqSite: id }),
    /** Calls asking for a skill the topology does not know are served by this one. */
    defaultSkill: id,
    tenants: z.array(tenant).min(1, 'expected at least one tenant'),
    skills: z.array(skill).min(1, 'expected at least one skill'),
    sites: z.array(site).min(1, 'expected at least one site'),
    /** SIP between sites, per pair of sites (see peerLink). */
    peerLinks: z.array(peerLink).default([]),
    routing,
    /**
     * The not-ready reasons agents choose from on the desktop (docs/api.md); the site agent and
     * the API refuse any other. The system's own reasons (login, rona) are not listed here.
     */
    notReadyReasons: z
      .array(deskCode)
      .min(1)
      .default(DEFAULT_NOT_READY_REASONS.map((r) => ({ ...r }))),
    /** The wrap-up dispositions agents record (docs/kpis.md); any other is refused. */
    dispositions: z
      .array(deskCode)
      .min(1)
      .default(DEFAULT_DISPOSITIONS.map((d) => ({ ...d }))),
  })
  .superRefine(checkReferences);

export type TopologyInput = z.input<typeof topologySchema>;
export type Topology = z.output<typeof topologySchema>;
export type Site = Topology['sites'][number];
export type Skill = Topology['skills'][number];
export type Agent = Site['agents'][number];
export type Tenant = Topology['tenants'][number];
export type Fallback = Site['fallback'];
export type PeerLink = Topology['peerLinks'][number];

type Ctx = z.RefinementCtx;
type Path = (string | number)[];

// Cross-references and uniqueness, which a per-field schema cannot see.
function checkReferences(t: z.output<z.ZodObject>, ctx: Ctx): void {
  const topo = t as unknown as Topology;
  const skillIds = new Set(topo.skills.map((s) => s.id));
  const tenantIds = new Set(topo.tenants.map((s) => s.id));
  const siteIds = new Set(topo.sites.map((s) => s.id));
  const known = (set: Set<string>) => [...set].join(', ');
  const fail = (path: Path, message: string) => ctx.addIssue({ code: 'custom', path, message });

  unique(topo.tenants, (x) => x.id, ['tenants'], 'tenant id', fail);
  unique(topo.skills, (x) => x.id, ['skills'], 'skill id', fail);
  unique(topo.sites, (x) => x.id, ['sites'], 'site id', fail);
  unique(topo.notReadyReasons, (x) => x.code, ['notReadyReasons'], 'not-ready reason', fail);
  unique(topo.dispositions, (x) => x.code, ['dispositions'], 'disposition', fail);

  if (!siteIds.has(topo.federation.hqSite)) {
    fail(
      ['federation', 'hqSite'],
      `unknown site "${topo.federation.hqSite}" (known: ${known(siteIds)})`,
    );
  }
  if (!skillIds.has(topo.defaultSkill)) {
    fail(['defaultSkill'], `unknown skill "${topo.defaultSkill}" (known: ${known(skillIds)})`);
  }
  topo.tenants.forEach((t, i) => {
    for (const skillId of Object.keys(t.recording?.skills ?? {}))
      if (!skillIds.has(skillId))
        fail(
          ['tenants', i, 'recording', 'skills', skillId],
          `unknown skill "${skillId}" (known: ${known(skillIds)})`,
        );
  });
  topo.skills.forEach((s, i) => {
    if (!s.secondChoice) return;
    if (!skillIds.has(s.secondChoice.skill)) {
      fail(
        ['skills', i, 'secondChoice', 'skill'],
        `unknown skill "${s.secondChoice.skill}" (known: ${known(skillIds)})`,
      );
    } else if (s.secondChoice.skill === s.id) {
      fail(['skills', i, 'secondChoice', 'skill'], 'a skill cannot be its own second choice');
    }
  });

  // Every socket any site listens on must be distinct, or two processes would fight for it.
  const listeners = new Map<string, string>();
  const agentIds = new Map<string, string>();
  const numbers = new Map<string, string>();
  topo.sites.forEach((site, si) => {
    for (const [what, ep] of [
      ['sip', site.sip],
      ...(site.sip.tlsPort === undefined
        ? []
        : ([['sip-tls', { host: site.sip.host, port: site.sip.tlsPort }]] as const)),
      ['evapi', site.evapi],
      ['grpc', site.grpc],
    ] as const) {
      const key = `${ep.host}:${ep.port}`;
      const owner = listeners.get(key);
      if (owner) {
        fail(['sites', si, what, 'port'], `${key} is already used by ${owner}`);
      } else {
        listeners.set(key, `sites[${si}] (${site.id}) ${what}`);
      }
    }
    // rtpengine's control ports and the DTMF listener are on the loopback of the site's host,
    // which its SIP address names (a site on 0.0.0.0 is taken to have a host, or a pod, its own).
    const loopbackOf = (p: number) =>
      site.sip.host === '127.0.0.1' ? `127.0.0.1:${p}` : `127.0.0.1 of ${machineOf(site)}:${p}`;
    for (const what of ['ngPort', 'ngHttpPort', 'dtmfPort'] as const) {
      const key = loopbackOf(site.media[what]);
      const owner = listeners.get(key);
      if (owner) fail(['sites', si, 'media', what], `${key} is already used by ${owner}`);
      else listeners.set(key, `sites[${si}] (${site.id}) media.${what}`);
    }
    if (site.sip.trunk !== undefined && site.sip.wsPort === undefined)
      fail(
        ['sites', si, 'sip', 'trunk'],
        'a site with an outbound trunk needs sip.wsPort: its dialer reaches Kamailio over the loopback WebSocket listener',
      );
    site.numbers.forEach((n, ni) => {
      const here: Path = ['sites', si, 'numbers', ni];
      if (!skillIds.has(n.skill)) {
        fail([...here, 'skill'], `unknown skill "${n.skill}" (known: ${known(skillIds)})`);
      }
      if (!tenantIds.has(n.tenant)) {
        fail([...here, 'tenant'], `unknown tenant "${n.tenant}" (known: ${known(tenantIds)})`);
      }
      const owner = numbers.get(n.number);
      if (owner) fail([...here, 'number'], `number ${n.number} is already routed by ${owner}`);
      else numbers.set(n.number, `site ${site.id}`);
    });
    site.agents.forEach((a, ai) => {
      const here: Path = ['sites', si, 'agents', ai];
      const owner = agentIds.get(a.id);
      if (owner) fail([...here, 'id'], `agent id "${a.id}" is already used at ${owner}`);
      else agentIds.set(a.id, `site ${site.id}`);
      if (!tenantIds.has(a.tenant)) {
        fail([...here, 'tenant'], `unknown tenant "${a.tenant}" (known: ${known(tenantIds)})`);
      }
      for (const skillId of Object.keys(a.skills)) {
        if (!skillIds.has(skillId)) {
          fail(
            [...here, 'skills', skillId],
            `unknown skill "${skillId}" (known: ${known(skillIds)})`,
          );
        }
      }
    });
  });

  checkRtpRanges(topo, listeners, fail);

  const pairs = new Map<string, number>();
  topo.peerLinks.forEach((link, li) => {
    const here: Path = ['peerLinks', li];
    const [a, b] = link.sites;
    link.sites.forEach((s, i) => {
      if (!siteIds.has(s))
        fail([...here, 'sites', i], `unknown site "${s}" (known: ${known(siteIds)})`);
    });
    if (a === b) fail([...here, 'sites'], 'a peer link joins two different sites');
    const pair = [a, b].sort().join(' and ');
    const first = pairs.get(pair);
    if (first !== undefined)
      fail([...here, 'sites'], `${pair} already have a peer link (peerLinks[${first}])`);
    else pairs.set(pair, li);
    if (link.transport !== 'tls') return;
    for (const s of link.sites) {
      const si = topo.sites.findIndex((x) => x.id === s);
      if (si >= 0 && topo.sites[si]!.sip.tlsPort === undefined)
        fail(
          [...here, 'transport'],
          `a TLS link needs sites[${si}] (${s}) to listen for TLS: give it sip.tlsPort`,
        );
    }
  });

  topo.routing.tenantRestrictions.forEach((r, ri) => {
    const here: Path = ['routing', 'tenantRestrictions', ri];
    if (!tenantIds.has(r.tenant)) {
      fail([...here, 'tenant'], `unknown tenant "${r.tenant}" (known: ${known(tenantIds)})`);
    }
    r.excludedSites.forEach((s, i) => {
      if (!siteIds.has(s)) {
        fail([...here, 'excludedSites', i], `unknown site "${s}" (known: ${known(siteIds)})`);
      }
    });
  });
}

/** The host a site runs on, as far as the topology tells: its SIP address, unless that is 0.0.0.0. */
function machineOf(site: Topology['sites'][number]): string {
  return site.sip.host === '0.0.0.0' ? `site ${site.id}` : site.sip.host;
}

/**
 * Sites whose rtpengines share a media address need disjoint RTP port ranges, and no other
 * listener of that address may sit inside one.
 */
function checkRtpRanges(
  topo: Topology,
  listeners: ReadonlyMap<string, string>,
  fail: (path: Path, message: string) => void,
): void {
  const ranges: { host: string; min: number; max: number; si: number; id: string }[] = [];
  topo.sites.forEach((site, si) => {
    const media = site.media.host ?? site.sip.host;
    const host = media === '0.0.0.0' ? machineOf(site) : media;
    const { min, max } = site.media.rtpPorts;
    const here: Path = ['sites', si, 'media', 'rtpPorts'];
    if (max < min) fail(here, `expected min <= max, got ${min}-${max}`);
    const other = ranges.find((r) => r.host === host && r.min <= max && min <= r.max);
    if (other)
      fail(
        here,
        `${host}:${min}-${max} overlaps sites[${other.si}] (${other.id}) RTP ports ${other.min}-${other.max}`,
      );
    for (const [key, owner] of listeners) {
      const i = key.lastIndexOf(':');
      const port = Number(key.slice(i + 1));
      if (key.slice(0, i) === host && port >= min && port <= max)
        fail(here, `${host}:${min}-${max} includes ${key}, used by ${owner}`);
    }
    ranges.push({ host, min, max, si, id: site.id });
  });
}

function unique<T>(
  items: readonly T[],
  key: (item: T) => string,
  at: Path,
  what: string,
  fail: (path: Path, message: string) => void,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) {
      fail([...at, i, 'id'], `duplicate ${what} "${k}" (first used at ${at.join('.')}[${first}])`);
    } else {
      seen.set(k, i);
    }
  });
}
