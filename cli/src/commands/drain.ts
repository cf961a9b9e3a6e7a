import { ClientError, Status } from 'nice-grpc';
import { parseCommandArgs, positionals } from '../args.js';
import { EXIT, OperationError, UsageError } from '../errors.js';
import { drainPhrase } from '../format/status.js';
import { describeGrpcError, grpcAddress, withSiteAgent } from '../site-agent.js';
import { readTls, TLS_OPTIONS, TLS_USAGE, tlsFiles } from '../tls.js';
import { findSite, readTopology, topologyFile } from '../topology.js';
import type { Command, CommandContext } from './context.js';

/** The site agent refuses longer reasons; checked here first to say so before calling. */
export const MAX_REASON_LENGTH = 200;
const DEADLINE_MS = 5_000;

const drainUsage = `usage: ccfed drain <site> --reason "…" [--topology FILE] [--tls-cert FILE --tls-key FILE --tls-ca FILE]

Drains a site (SiteAgent.SetDraining): the router sends it no more overflow and overflowed
INVITEs that still arrive are refused with 503; the site's own callers are served as usual. The
drain survives a restart of the site agent. Prints the drain state before and after. Only an
operator's certificate may drain.

  --reason TEXT    why (required, at most ${MAX_REASON_LENGTH} characters): shown by ccfed status and logged
  --topology FILE  the topology file (default: $CCFED_TOPOLOGY, else topology/example.yaml)
${TLS_USAGE}

Exit status: 0 done, 1 the site did not answer or refused, 2 bad input (unknown site, no reason).`;

const undrainUsage = `usage: ccfed undrain <site> [--reason "…"] [--topology FILE] [--tls-cert FILE --tls-key FILE --tls-ca FILE]

Undrains a site (SiteAgent.SetDraining): it takes overflow again. Prints the drain state before
and after. Only an operator's certificate may undrain.

  --reason TEXT    why, for the site agent's log (optional)
  --topology FILE  the topology file (default: $CCFED_TOPOLOGY, else topology/example.yaml)
${TLS_USAGE}

Exit status: 0 done, 1 the site did not answer or refused, 2 bad input (unknown site).`;

export const drainCommand: Command = {
  name: 'drain',
  summary: 'stop overflow to a site (needs --reason)',
  usage: drainUsage,
  run: (argv, ctx) => setDraining(true, argv, ctx),
};

export const undrainCommand: Command = {
  name: 'undrain',
  summary: 'let a drained site take overflow again',
  usage: undrainUsage,
  run: (argv, ctx) => setDraining(false, argv, ctx),
};

async function setDraining(
  drained: boolean,
  argv: readonly string[],
  { env, io }: CommandContext,
): Promise<number> {
  const usage = drained ? drainUsage : undrainUsage;
  const { values, positionals: rest } = parseCommandArgs(
    argv,
    { reason: { type: 'string' }, topology: { type: 'string' }, ...TLS_OPTIONS },
    usage,
  );
  if (values.help) {
    io.out(usage);
    return EXIT.ok;
  }
  const [siteId] = positionals(rest, ['site'], usage);
  const reason = (values.reason ?? '').trim();
  if (drained && !reason) {
    throw new UsageError('drain needs --reason "…": it is what ccfed status shows', usage);
  }
  if (reason.length > MAX_REASON_LENGTH) {
    throw new UsageError(
      `--reason is ${reason.length} characters long; at most ${MAX_REASON_LENGTH} allowed`,
    );
  }
  const file = topologyFile(values.topology, env);
  const site = findSite(readTopology(file), siteId!, file);
  const tls = readTls(tlsFiles(values, env));

  const where = `site ${site.id} (${grpcAddress(site)})`;
  const call = async <T>(what: string, fn: () => Promise<T>, onFailure: string): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const why = describeGrpcError(err, DEADLINE_MS);
      if (err instanceof ClientError && err.code === Status.INVALID_ARGUMENT) {
        throw new UsageError(`${where} refused ${what}: ${why}`);
      }
      // Refused for who is asking: the site changed nothing, whatever the call was.
      if (err instanceof ClientError && err.code === Status.PERMISSION_DENIED) {
        throw new OperationError(`${where} refused ${what}: ${why}; nothing was changed`);
      }
      throw new OperationError(`${what} at ${where} failed: ${why}; ${onFailure}`);
    }
  };
  const { before, after } = await withSiteAgent(site, tls, async (client) => {
    const signal = () => AbortSignal.timeout(DEADLINE_MS);
    const status = await call(
      'GetStatus',
      () => client.getStatus({}, { signal: signal() }),
      'nothing was changed',
    );
    const answer = await call(
      'SetDraining',
      () => client.setDraining({ drained, reason }, { signal: signal() }),
      `whether the site is drained now is unknown: see ccfed status`,
    );
    return {
      before: drainPhrase(answer.wasDrained, answer.wasDrained ? status.drainReason : ''),
      after: drainPhrase(answer.drained, answer.drained ? reason : ''),
    };
  });
  io.out(`${site.id}: before: ${before}\n${site.id}: after:  ${after}`);
  return EXIT.ok;
}
