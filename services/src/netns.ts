import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Linux network namespace names as `ip netns` takes them: no path, no option, no shell. */
const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The command line that runs `command` inside the network namespace `netns` (none: as is).
 * `ip netns exec` execs the command after entering the namespace, so the process keeps its pid
 * and, spawned detached, leads its own process group: stopping it works as without a namespace.
 */
export function inNetns(
  netns: string | undefined,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  if (netns === undefined) return { command, args: [...args] };
  if (!NETNS_NAME.test(netns))
    throw new Error(`not a network namespace name: ${JSON.stringify(netns)}`);
  return { command: 'ip', args: ['netns', 'exec', netns, command, ...args] };
}

/**
 * Whether a socket listens on `port` (TCP) or is bound to it (UDP) inside `netns`, on `host` when
 * given, else on any address: probes from this process would look in its own namespace instead.
 */
export async function boundInNetns(
  netns: string,
  port: number,
  protocol: 'tcp' | 'udp',
  host?: string,
): Promise<boolean> {
  const { command, args } = inNetns(netns, 'ss', [
    protocol === 'tcp' ? '-Hlnt' : '-Hlnu',
    host === undefined ? `sport = :${port}` : `src ${host}:${port}`,
  ]);
  const { stdout } = await run(command, args);
  return stdout.trim().length > 0;
}
