import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNetns } from './netns.js';

export const SIPP = '/usr/bin/sipp';
/** The scenarios: callers and agent phones that honour Record-Route (see each file's header). */
export const SCENARIOS = new URL('../sipp', import.meta.url).pathname;

export interface SippRun {
  readonly exited: Promise<{ code: number | null; output: string }>;
  stop(): Promise<void>;
}

export interface SippOptions {
  /**
   * Seed of sipp's random draws (its GSL generator, read from GSL_RNG_SEED). sipp never seeds it
   * itself, so without this every sipp process would draw the same talk times and patiences;
   * by default each run gets its own random seed.
   */
  readonly seed?: number;
  /** Runs sipp inside this network namespace (tests/netns: a site's phones and callers). */
  readonly netns?: string;
}

/** Output kept from a sipp process: its last lines, for error messages (sipp may run for hours). */
const OUTPUT_TAIL_CHARS = 64 * 1024;

/**
 * Runs sipp on loopback with one of services/sipp/*.xml. sipp's own exit code says whether every
 * call behaved (0), some failed (1), or it could not run.
 */
export function sipp(scenario: string, args: readonly string[], opts: SippOptions = {}): SippRun {
  const { command, args: argv } = inNetns(opts.netns, SIPP, [
    '-sf',
    join(SCENARIOS, scenario),
    '-i',
    '127.0.0.1',
    '-nostdin',
    ...args,
  ]);
  const child = spawn(command, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GSL_RNG_SEED: String(opts.seed ?? randomInt(1, 2 ** 31)) },
  });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 2 * OUTPUT_TAIL_CHARS) output = output.slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, output })),
  );
  return {
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A sipp run that writes one line per step of each call (see services/sipp/*.xml) to `logFile`. */
export interface LoggedSippRun extends SippRun {
  readonly logFile: string;
}

export interface AgentPhoneOptions extends SippOptions {
  /** The SIP port the phone listens on; its Contact is sip:127.0.0.1:<port>. */
  readonly port: number;
  readonly ringMs: number;
  /** Mean of the exponential talk time, after which the agent hangs up. */
  readonly talkMeanMs: number;
  /** Calls to take before sipp exits; without it the phone runs until stopped. */
  readonly calls?: number;
  readonly logFile: string;
  readonly timeout?: string;
}

/** An agent's phone (services/sipp/agent-phone.xml): rings, answers, talks, hangs up. */
export function agentPhone(o: AgentPhoneOptions): LoggedSippRun {
  const args = [
    '-p',
    String(o.port),
    '-key',
    'ring_ms',
    String(o.ringMs),
    '-key',
    'talk_ms',
    String(o.talkMeanMs),
    ...(o.calls === undefined ? [] : ['-m', String(o.calls)]),
    ...traceArgs(o.logFile),
    '-timeout',
    o.timeout ?? '120s',
  ];
  return { ...sipp('agent-phone.xml', args, o), logFile: o.logFile };
}

export interface QueuedCallerOptions extends SippOptions {
  /** The site's Kamailio. */
  readonly proxy: { readonly host: string; readonly port: number };
  /** The contact-center number dialed. */
  readonly service: string;
  /**
   * The callers' numbers: these digits followed by each call's number (1, 2, ...; see
   * callerNumbers). A caller sets no X-CC-* header: the site identifies it by its number in the
   * customer directory.
   */
  readonly callerPrefix: string;
  /** Patience: fixed part, plus an exponential part of mean patienceExpMeanMs (default 0). */
  readonly patienceMs: number;
  readonly patienceExpMeanMs?: number;
  readonly calls: number;
  /** New calls per second. */
  readonly rate?: number;
  readonly port: number;
  readonly logFile: string;
  readonly timeout?: string;
}

/** Callers (services/sipp/caller-queue.xml) who queue, give up after their patience, or talk until the agent hangs up. */
export function queuedCallers(o: QueuedCallerOptions): LoggedSippRun {
  const args = [
    `${o.proxy.host}:${o.proxy.port}`,
    '-p',
    String(o.port),
    '-s',
    o.service,
    '-key',
    'caller',
    o.callerPrefix,
    '-key',
    'patience_ms',
    String(o.patienceMs),
    '-key',
    'patience_exp_ms',
    String(o.patienceExpMeanMs ?? 0),
    '-m',
    String(o.calls),
    '-r',
    String(o.rate ?? 10),
    ...traceArgs(o.logFile),
    '-timeout',
    o.timeout ?? '120s',
  ];
  return { ...sipp('caller-queue.xml', args, o), logFile: o.logFile };
}

export interface CampaignCustomersOptions extends SippOptions {
  /** The SIP port the customers listen on: the site's sip.trunk is sip:127.0.0.1:<port>. */
  readonly port: number;
  /** The first this many calls, whatever number they dial, are refused busy (486). */
  readonly busyCalls: number;
  readonly ringMs: number;
  /** How long an answered customer talks before hanging up, from the last answer (a re-INVITE's too). */
  readonly talkMs: number;
  /**
   * The RTP port on 127.0.0.1 the customers' SDP names, where a test may listen for what
   * rtpengine sends them (sipp does not bind it). Without it, the discard port (9): nobody listens.
   */
  readonly rtpPort?: number;
  /** Calls to take before sipp exits; without it the customers answer until stopped. */
  readonly calls?: number;
  readonly logFile: string;
  readonly timeout?: string;
}

/**
 * The customers behind a site's outbound trunk (services/sipp/customer.xml): every dialed number
 * lands here; the first `busyCalls` calls are busy, the others answer (and answer a re-INVITE
 * that bridges them), talk and hang up.
 */
export function campaignCustomers(o: CampaignCustomersOptions): LoggedSippRun {
  const args = [
    '-p',
    String(o.port),
    '-key',
    'busy_calls',
    String(o.busyCalls),
    '-key',
    'ring_ms',
    String(o.ringMs),
    '-key',
    'talk_ms',
    String(o.talkMs),
    '-key',
    'rtp_port',
    String(o.rtpPort ?? 9),
    ...(o.calls === undefined ? [] : ['-m', String(o.calls)]),
    ...traceArgs(o.logFile),
    '-timeout',
    o.timeout ?? '120s',
  ];
  return { ...sipp('customer.xml', args, o), logFile: o.logFile };
}

/** The From numbers of the first `calls` callers of a run with `callerPrefix`, in call order. */
export function callerNumbers(callerPrefix: string, calls: number): string[] {
  // sipp numbers a run's calls from 1 ([call_number]).
  return Array.from({ length: calls }, (_, i) => `${callerPrefix}${i + 1}`);
}

function traceArgs(logFile: string): string[] {
  return ['-trace_logs', '-log_file', logFile, '-trace_err', '-error_file', `${logFile}.errors`];
}

/**
 * One line written by a <log> action of services/sipp/*.xml:
 * `<date> <time> <epoch s.us> <role> <Call-ID> <event> key=value...`
 */
export interface SippLogLine {
  /** Epoch milliseconds, from sipp's [timestamp]. */
  readonly at: number;
  readonly role: string;
  readonly callId: string;
  readonly event: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** Parses a sipp -trace_logs file of our scenarios; lines of any other shape are skipped. */
export function parseSippLog(text: string): SippLogLine[] {
  const lines: SippLogLine[] = [];
  for (const line of text.split('\n')) {
    const [, , epoch, role, callId, event, ...rest] = line.trim().split(/\s+/);
    if (!epoch || !role || !callId || !event || !/^\d+\.\d+$/.test(epoch)) continue;
    const fields: Record<string, string> = {};
    for (const kv of rest) {
      const i = kv.indexOf('=');
      if (i > 0) fields[kv.slice(0, i)] = kv.slice(i + 1);
    }
    lines.push({ at: Math.round(Number(epoch) * 1000), role, callId, event, fields });
  }
  return lines;
}

/** What happened to one call of services/sipp/caller-queue.xml, as the caller saw it. */
export interface CallerCall {
  readonly callId: string;
  /**
   * answered: talked, and the call ended with a BYE; abandoned: gave up (CANCEL) before an
   * answer, the INVITE then ending with 487 or with a refusal that crossed the CANCEL (`code`);
   * rejected: refused with a final response while waiting; failed: anything else, which sipp
   * counts as a failed call.
   */
  readonly outcome: 'answered' | 'abandoned' | 'rejected' | 'failed';
  /** The caller's number (the From user). */
  readonly number?: string;
  readonly patienceMs?: number;
  /** Told 182 Queued at least once. */
  readonly queued: boolean;
  /** Contact URI of the agent's 200, e.g. sip:127.0.0.1:5071;  agentPort is its port. */
  readonly agent?: string;
  readonly agentPort?: number;
  /** The 200 came after the caller's CANCEL: the caller ACKed and hung up itself. */
  readonly answeredLate: boolean;
  readonly endedBy?: 'agent' | 'caller';
  /** Final response code of a refused call (rejected, or abandoned as the refusal crossed the CANCEL). */
  readonly code?: number;
  /** Epoch ms: INVITE sent, 200 ACKed, call over (BYE, CANCEL done, or refusal ACKed). */
  readonly invitedAt?: number;
  readonly answeredAt?: number;
  readonly endedAt?: number;
}

/** One entry per Call-ID in a caller-queue.xml log, in the order the calls were placed. */
export function callerCalls(text: string): CallerCall[] {
  return byCall(parseSippLog(text).filter((l) => l.role === 'caller')).map(([callId, lines]) => {
    const find = (event: string) => lines.find((l) => l.event === event);
    const invite = find('invite');
    const answered = find('answered');
    const ended = find('ended');
    const abandoned = find('abandoned');
    const rejected = find('rejected');
    const end = ended ?? abandoned ?? rejected;
    const agent = answered?.fields.agent;
    const port = agent ? /:(\d+)(?:[;>]|$)/.exec(agent)?.[1] : undefined;
    return {
      callId,
      outcome: callerOutcome(lines),
      number: invite?.fields.number,
      patienceMs: numberField(invite, 'patience_ms'),
      queued: lines.some((l) => l.event === 'queued'),
      agent,
      agentPort: port ? Number(port) : undefined,
      answeredLate: answered?.fields.late === '1',
      endedBy: ended?.fields.by as CallerCall['endedBy'],
      code: numberField(rejected, 'code'),
      invitedAt: invite?.at,
      answeredAt: answered?.at,
      endedAt: end?.at,
    };
  });
}

function callerOutcome(lines: readonly SippLogLine[]): CallerCall['outcome'] {
  const seen = (event: string) => lines.find((l) => l.event === event);
  if (seen('answered')) return seen('ended') ? 'answered' : 'failed';
  const refused = seen('rejected');
  if (seen('abandoned') || refused?.fields.gave_up === 'yes') return 'abandoned';
  return refused ? 'rejected' : 'failed';
}

/** What happened to one call of services/sipp/agent-phone.xml, as the agent's phone saw it. */
export interface AgentPhoneCall {
  readonly callId: string;
  /**
   * hungup: the agent hung up after its talk time; caller-hungup: the caller did first;
   * cancelled: the caller gave up while it rang; failed: anything else.
   */
  readonly outcome: 'hungup' | 'caller-hungup' | 'cancelled' | 'failed';
  /** The talk time drawn for the call (exponential), when it was answered. */
  readonly talkMs?: number;
  /** The caller's CANCEL crossed the phone's 200. */
  readonly lateCancel: boolean;
  readonly ringingAt?: number;
  readonly answeredAt?: number;
  readonly endedAt?: number;
}

/** One entry per Call-ID in an agent-phone.xml log. */
export function agentPhoneCalls(text: string): AgentPhoneCall[] {
  return byCall(parseSippLog(text).filter((l) => l.role === 'agent')).map(([callId, lines]) => {
    const find = (event: string) => lines.find((l) => l.event === event);
    const answered = find('answered');
    const end = find('hungup') ?? find('caller-hungup') ?? find('cancelled');
    return {
      callId,
      outcome: (end?.event ?? 'failed') as AgentPhoneCall['outcome'],
      talkMs: numberField(answered, 'talk_ms'),
      lateCancel: lines.some((l) => l.event === 'late-cancel'),
      ringingAt: find('ringing')?.at,
      answeredAt: answered?.at,
      endedAt: end?.at,
    };
  });
}

/** Reads a scenario's log file written by sipp (-trace_logs -log_file). */
export function readSippLog(run: { readonly logFile: string }): string {
  return readFileSync(run.logFile, 'utf8');
}

function byCall(lines: SippLogLine[]): [string, SippLogLine[]][] {
  const calls = new Map<string, SippLogLine[]>();
  for (const l of lines) {
    const list = calls.get(l.callId);
    if (list) list.push(l);
    else calls.set(l.callId, [l]);
  }
  return [...calls];
}

function numberField(line: SippLogLine | undefined, key: string): number | undefined {
  const v = line?.fields[key];
  return v === undefined ? undefined : Number(v);
}
