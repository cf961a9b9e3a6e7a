// npm run bench:media — one site anchoring every call's media as production runs it (its
// rtpengine started before Kamailio, the site agent process, agents logged in over mutual TLS,
// Kafka), with sipp callers talking real G.711 to sipp agents that echo it. Writes
// bench/results/media.json:
//
//   concurrent_calls_under_1pct_loss  the largest step of N calls held at once in which every
//                                     call succeeded and the RTP loss (below) stayed under 1 %
//   first_ringback_ms                 INVITE sent → first ringback RTP packet at a caller that
//                                     queues (nobody staffed for its number), p50 / p99
//   rtpengine_cpu_ms_per_call         rtpengine's CPU time (user + system, /proc/<pid>/stat)
//                                     over the concurrency steps ÷ the calls they carried
//
// A step places N calls over RAMP seconds; each plays the same recorded A-law speech (talk.pcap,
// K packets) once answered and hangs up after the ramp, the speech and a margin, so that all N
// talk at once. The agents' sipp echoes every RTP packet back (-rtp_echo). Once every call has
// finished its speech (its counts stop moving), and before any hangs up, each call is queried over
// ng. A step passes when every call succeeded, all N were held at once and the loss is under 1 %.
//
// What loss means here. rtpengine 10.5 counts, per call party and stream, the RTP packets it
// RECEIVED from that party (ng `query`: tags.<tag>.medias[].streams[].stats.packets); it has no
// count of packets sent. Per call, from the caller's stream we read R_caller (packets that reached
// rtpengine from the caller) and from the agent's R_agent (packets rtpengine forwarded to the
// agent that the agent echoed and that reached rtpengine again). The callers sent calls × K.
//
//   loss = 1 − Σ R_agent / (calls × K)
//
// the share of the callers' packets that did not complete caller → rtpengine → agent → rtpengine:
// lost on the way in, dropped in rtpengine's forwarding (both directions go through its userspace
// relay: the echo is the agent's direction), or lost at the agent. The last hop, rtpengine back to
// the caller, is the only one not counted. Its two parts are in each step: `caller_to_rtpengine`
// (1 − Σ R_caller / sent) and `through_agent` (1 − Σ R_agent / Σ R_caller).
import { spawn, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assignFreePorts,
  freePort,
  freeSippMediaPort,
  NgClient,
  NgCommandError,
  type NgReply,
} from '@ccfed/services';
import { parseTopology, siteById } from '@ccfed/topology';
import { parse, stringify } from 'yaml';
import { sendSip, silentOffer } from '../tests/support/sip.js';
import { benchArgs, benchKafka, benchSite, percentile, round, ROOT, runBench } from './harness.js';

const SCENARIOS = join(ROOT, 'services', 'sipp');
/** sip-tester's recorded speech, G.711 A-law, 236 packets of 30 ms. */
const SPEECH = '/usr/share/sip-tester/g711a.pcap';
const SALES = '400200100';
/** Beijing's English support number: its only agent never logs in, so every call queues. */
const SUPPORT = '400200200';
const TARGETS = { concurrent_calls: 200, first_ringback_p99_ms: 300 };
const MAX_LOSS = 0.01;

const args = benchArgs({
  steps: { full: '50,100,200,300,400,500', smoke: '5,10' },
  /** Seconds over which a step places its calls. */
  'ramp-s': { full: '5', smoke: '1' },
  /** Packets of the speech each caller plays (30 ms each; the recording has 236). */
  packets: { full: '236', smoke: '50' },
  /** Talk time beyond the ramp and the speech: the window in which the calls are queried. */
  'settle-ms': { full: '9000', smoke: '3000' },
  'ringback-calls': { full: '30', smoke: '5' },
});
const { values } = args;
const STEPS = values.steps.split(',').map(Number);
const RAMP_S = Number(values['ramp-s']);
const PACKETS = Number(values.packets);
const SETTLE_MS = Number(values['settle-ms']);
const RINGBACK_CALLS = Number(values['ringback-calls']);
const AGENTS = Math.max(...STEPS) + 20;

interface CallCounts {
  readonly fromCaller: number;
  readonly fromAgent: number;
}

interface Step {
  calls: number;
  calls_per_s: number;
  answered: number;
  failed: number;
  /** Calls rtpengine held at once and answered the query for, after every call's speech. */
  held: number;
  /**
   * Whether the counts had stopped moving when read (every call's speech over). If not, some
   * packets were still to come: the loss can only have been overstated, never hidden.
   */
  settled: boolean;
  /** From every call of the step anchored to the reading used. */
  read_after_ms: number;
  rtp_packets: { sent: number; caller_to_rtpengine: number; back_from_agent: number };
  loss: number;
  loss_parts: { caller_to_rtpengine: number; through_agent: number };
  worst_call_loss: number;
  passed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RTP packets rtpengine received from one party (tag) of a call, over its RTP streams. */
function rtpPacketsFrom(reply: NgReply, tag: string): number {
  const party = (reply.tags as Record<string, { medias?: unknown[] }> | undefined)?.[tag];
  let packets = 0;
  for (const media of party?.medias ?? [])
    for (const s of (media as { streams?: unknown[] }).streams ?? []) {
      const stream = s as { flags?: string[]; stats?: { packets?: number } };
      if (stream.flags?.includes('RTP')) packets += stream.stats?.packets ?? 0;
    }
  return packets;
}

/** rtpengine's CPU time so far (user + system), in ms. */
function cpuMs(pid: number, ticksPerS: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerS) * 1000;
}

await runBench('media', args, async (run) => {
  const { dir, onCleanup } = run;
  // Started, not awaited: the site starts its rtpengine and Kamailio meanwhile (benchSite).
  const kafka = benchKafka(run);

  // The example topology's Beijing site, staffed with AGENTS sales agents and no wrap-up (the
  // figures measure the media path, not the staffing), and one support agent who never logs in.
  const doc = parse(readFileSync(join(ROOT, 'topology', 'example.yaml'), 'utf8'));
  await assignFreePorts(doc);
  for (const sk of doc.skills) sk.wrapUpSeconds = 0;
  const bj = doc.sites.find((s: { id: string }) => s.id === 'beijing');
  for (const [i, other] of doc.sites.filter((s: { id: string }) => s !== bj).entries())
    other.media.rtpPorts = { min: 61000 + i * 1000, max: 61999 + i * 1000 };
  // Four ports per call: room for the largest step and the queued callers.
  bj.media.rtpPorts = { min: 16384, max: 32767 };
  bj.agents = [
    ...Array.from({ length: AGENTS }, (_, i) => ({
      id: `bj-${String(i + 1).padStart(4, '0')}`,
      name: `Agent ${i + 1}`,
      tenant: 'acme-bank',
      skills: { sales: 5 },
    })),
    { id: 'bj-support', name: 'Support', tenant: 'acme-bank', skills: { support: 5 } },
  ];
  // The callers stand for an SBC in front of the site: a trusted source, not rate-limited.
  const callerPort = await freePort();
  bj.trustedSources = [`127.0.0.1:${callerPort}`];
  const topologyFile = join(dir, 'topology.yaml');
  writeFileSync(topologyFile, stringify(doc));
  const topology = parseTopology(stringify(doc), topologyFile);
  const site = siteById(topology, 'beijing');

  const {
    rtpengine,
    kamailio: kam,
    control,
  } = await benchSite(run, { topology, topologyFile, siteId: site.id, kafka });
  // The bench's own ng client: the instance's answers within 200 ms or fails, too short for a
  // query among hundreds of calls on a loaded machine.
  const ng = await NgClient.open({ ...rtpengine.ng, retransmitMs: 1000, attempts: 3 });
  onCleanup(() => ng.close());

  // The agents' phones: one sipp UAS answering for every agent, echoing all RTP it gets.
  const phonePort = await freePort();
  const phoneMediaPort = await freeSippMediaPort();
  const phones = spawn(
    'sipp',
    [
      '-sf',
      join(SCENARIOS, 'agent-media.xml'),
      '-i',
      '127.0.0.1',
      '-p',
      String(phonePort),
      '-mp',
      String(phoneMediaPort),
      '-rtp_echo',
      '-nostdin',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  onCleanup(async () => void phones.kill('SIGTERM'));
  const agents = site.agents.filter((a) => a.id !== 'bj-support');
  while (agents.length > 0) {
    await Promise.all(
      agents.splice(0, 50).map(async (a) => {
        await control.login({ agentId: a.id, contactUri: `sip:${a.id}@127.0.0.1:${phonePort}` });
        await control.setReady({ agentId: a.id });
      }),
    );
  }

  // The speech every caller plays, in sipp's working directory (caller-media.xml).
  execFileSync('editcap', ['-r', SPEECH, join(dir, 'talk.pcap'), `1-${PACKETS}`]);
  const info = execFileSync('capinfos', ['-c', '-M', join(dir, 'talk.pcap')], { encoding: 'utf8' });
  const packetsPerCall = Number(/Number of packets:\s*(\d+)/.exec(info)?.[1]);
  if (packetsPerCall !== PACKETS)
    throw new Error(`talk.pcap holds ${packetsPerCall} packets, expected ${PACKETS}`);
  const speechMs = PACKETS * 30;
  const callerMediaPort = await freeSippMediaPort();

  const listCalls = async (): Promise<string[]> => {
    const reply = await ng.request('list', { limit: AGENTS * 2 + RINGBACK_CALLS + 100 });
    return ((reply.calls as unknown[] | undefined) ?? []).map((c) =>
      Buffer.from(c as Uint8Array).toString(),
    );
  };
  /** Each call's packet counts; a call that has gone (hung up) is left out. */
  const countAll = async (callIds: readonly string[]): Promise<Map<string, CallCounts>> => {
    const counts = new Map<string, CallCounts>();
    for (let i = 0; i < callIds.length; i += 50)
      await Promise.all(
        callIds.slice(i, i + 50).map(async (callId) => {
          const q = await ng.query({ callId }).catch((err: unknown) => {
            if (err instanceof NgCommandError) return undefined;
            throw err;
          });
          if (!q) return;
          // The caller's tag is sipp's [pid]SIPpTag09[n] (caller-media.xml); Kamailio answers
          // rtpengine for the agent under one far-end tag (docs/media.md), the call's other tag.
          const caller = q.tags.find((t) => t.includes('SIPpTag09'));
          const agent = q.tags.find((t) => t !== caller);
          if (caller === undefined || agent === undefined) return;
          counts.set(callId, {
            fromCaller: rtpPacketsFrom(q.reply, caller),
            fromAgent: rtpPacketsFrom(q.reply, agent),
          });
        }),
      );
    return counts;
  };
  const total = (m: Map<string, CallCounts>) =>
    [...m.values()].reduce((s, c) => s + c.fromCaller + c.fromAgent, 0);

  const ticksPerS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const pid = rtpengine.handle.pid;
  const cpuBefore = cpuMs(pid, ticksPerS);
  let carried = 0;

  const steps: Step[] = [];
  for (const n of STEPS) {
    const cps = Math.max(1, Math.ceil(n / RAMP_S));
    // Long enough for every call to be answered, play its speech and be queried while all talk.
    const talkMs = RAMP_S * 1000 + speechMs + SETTLE_MS;
    const statFile = join(dir, `caller-${n}.csv`);
    const startedAt = Date.now();
    const caller = spawn(
      'sipp',
      [
        `${kam.sip.host}:${kam.sip.port}`,
        '-sf',
        join(SCENARIOS, 'caller-media.xml'),
        '-i',
        '127.0.0.1',
        '-p',
        String(callerPort),
        '-mp',
        String(callerMediaPort),
        '-s',
        SALES,
        '-key',
        'caller',
        '8613700',
        '-r',
        String(cps),
        '-m',
        String(n),
        '-l',
        String(n),
        '-d',
        String(talkMs),
        '-timeout',
        `${Math.ceil(talkMs / 1000) + RAMP_S + 60}s`,
        '-trace_stat',
        '-stf',
        statFile,
        '-fd',
        '1',
        '-nostdin',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => {
      const stuck = setTimeout(() => caller.kill('SIGTERM'), talkMs + (RAMP_S + 75) * 1000);
      caller.once('exit', (c) => {
        clearTimeout(stuck);
        resolve(c);
      });
    });
    let done = false;
    void exited.then(() => (done = true));

    // Every call anchored, then every speech over (the last call answered 300 ms after its INVITE
    // by the agent's phone, plus a second), then the counts until they stop moving.
    let ids: string[] = [];
    while (!done && Date.now() - startedAt < RAMP_S * 1000 + SETTLE_MS) {
      ids = await listCalls();
      if (ids.length >= n) break;
      await sleep(100);
    }
    const anchoredAt = Date.now();
    await sleep(speechMs + 1300);
    let counts = await countAll(ids);
    let readAt = Date.now();
    let settled = false;
    while (!done && Date.now() - startedAt < talkMs - 1000) {
      await sleep(500);
      const again = await countAll(ids);
      if (again.size < counts.size) break; // calls hanging up: keep the last full reading
      const still = total(again) === total(counts);
      counts = again;
      readAt = Date.now();
      if (still) {
        settled = true;
        break;
      }
    }
    const code = await exited;

    const stat = readFileSync(statFile, 'utf8').trim().split('\n');
    const header = stat[0]!.split(';');
    const last = stat.at(-1)!.split(';');
    const col = (name: string) => Number(last[header.indexOf(name)]);
    const answered = col('SuccessfulCall(C)');
    const failed = col('FailedCall(C)') + (n - answered - col('FailedCall(C)'));
    carried += answered;
    const held = counts.size;
    const sent = held * PACKETS;
    const fromCallers = [...counts.values()].reduce((s, c) => s + c.fromCaller, 0);
    const fromAgents = [...counts.values()].reduce((s, c) => s + c.fromAgent, 0);
    const ratio = (a: number, b: number) => (b === 0 ? 1 : 1 - a / b);
    const loss = ratio(fromAgents, sent);
    const step: Step = {
      calls: n,
      calls_per_s: cps,
      answered,
      failed,
      held,
      settled,
      read_after_ms: readAt - anchoredAt,
      rtp_packets: { sent, caller_to_rtpengine: fromCallers, back_from_agent: fromAgents },
      loss: round(loss),
      loss_parts: {
        caller_to_rtpengine: round(ratio(fromCallers, sent)),
        through_agent: round(ratio(fromAgents, fromCallers)),
      },
      worst_call_loss: round(
        Math.max(0, ...[...counts.values()].map((c) => ratio(c.fromAgent, PACKETS))),
      ),
      passed: failed === 0 && held === n && loss < MAX_LOSS,
    };
    steps.push(step);
    console.log(
      `${n} calls (${cps}/s): ${answered} answered, ${failed} failed (sipp exit ${code}), ${held} held at once${settled ? '' : ' (counts still moving)'}; loss ${(loss * 100).toFixed(2)} % (in ${(step.loss_parts.caller_to_rtpengine * 100).toFixed(2)} %, through the agent ${(step.loss_parts.through_agent * 100).toFixed(2)} %)`,
    );
    if (!step.passed) break;
    // Every session gone before the next step.
    for (let i = 0; i < 150 && (await listCalls()).length > 0; i++) await sleep(100);
  }
  const cpuAfter = cpuMs(pid, ticksPerS);

  // Callers who queue: nobody is staffed for the support number. A Node socket is each caller's
  // media port; the INVITE (tests/support's sendSip, as queue-experience.test.ts) names it. The
  // calls stay queued, hearing their queue, until the site stops.
  const delays: number[] = [];
  let not182 = 0;
  for (let i = 0; i < RINGBACK_CALLS; i++) {
    const rtp = createSocket('udp4');
    await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r));
    const first = new Promise<number>((resolve) =>
      rtp.once('message', () => resolve(performance.now())),
    );
    const sentAt = performance.now();
    const replies = await sendSip(kam.sip, 'INVITE', {
      user: SUPPORT,
      sdp: silentOffer('127.0.0.1', rtp.address().port),
      waitMs: 300,
    });
    if (!replies.some((r) => r.status === 182)) not182++;
    const at = await Promise.race([first, sleep(5000).then(() => 0)]);
    rtp.close();
    if (at > 0) delays.push(at - sentAt);
  }
  const sorted = [...delays].sort((a, b) => a - b);
  console.log(
    `INVITE → first ringback packet, ${delays.length}/${RINGBACK_CALLS} calls: p50 ${round(percentile(sorted, 50))} ms, p99 ${round(percentile(sorted, 99))} ms`,
  );

  const passed = steps.filter((s) => s.passed);
  const cpuPerCall = carried === 0 ? Number.NaN : (cpuAfter - cpuBefore) / carried;
  const result = {
    setup: {
      agents: AGENTS,
      ramp_s: RAMP_S,
      packets_per_call: PACKETS,
      packet_ms: 30,
      codec: 'PCMA/8000 (G.711 A-law), no transcoding',
      talk_ms_beyond_speech: SETTLE_MS,
      rtpengine_threads: 2,
      note: 'one site: rtpengine (userspace) + Kamailio + site agent process + Kafka broker + sipp callers playing recorded speech and sipp agent phones echoing it (-rtp_echo), all on this machine',
      loss_definition:
        '1 − (RTP packets rtpengine received back from the agents) ÷ (packets the callers sent): lost between caller and rtpengine, in rtpengine forwarding to the agent, at the agent, or in rtpengine receiving the echo; the last hop back to the caller is not counted (rtpengine 10.5 counts received packets only)',
    },
    targets: TARGETS,
    concurrent_calls_under_1pct_loss: passed.at(-1)?.calls ?? 0,
    first_ringback_ms: {
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? Number.NaN),
      samples: sorted.length,
      calls: RINGBACK_CALLS,
      without_182: not182,
    },
    rtpengine_cpu_ms_per_call: round(cpuPerCall),
    rtpengine_cpu: { ms: round(cpuAfter - cpuBefore), calls: carried },
    steps,
  };
  console.log(
    `concurrent calls under 1 % loss: ${result.concurrent_calls_under_1pct_loss} (target ≥ ${TARGETS.concurrent_calls}); first ringback p99 ${result.first_ringback_ms.p99} ms (target < ${TARGETS.first_ringback_p99_ms}); rtpengine ${result.rtpengine_cpu_ms_per_call} ms CPU per call`,
  );
  run.writeResult(result);
});
