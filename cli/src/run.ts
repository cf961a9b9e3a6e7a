import { decisionsCommand } from './commands/decisions.js';
import { derivedCommand } from './commands/derived.js';
import type { Command, CommandContext } from './commands/context.js';
import { drainCommand, undrainCommand } from './commands/drain.js';
import { kamailioConfigCommand } from './commands/kamailio-config.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';
import { EXIT, OperationError, UsageError } from './errors.js';

export const COMMANDS: readonly Command[] = [
  statusCommand,
  drainCommand,
  undrainCommand,
  validateCommand,
  kamailioConfigCommand,
  decisionsCommand,
  derivedCommand,
];

/** The top-level usage: every command with one line, and where to get more. */
export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: ccfed <command> [options]',
    '',
    "The operator's command line for a ccfed federation.",
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'ccfed <command> --help (or ccfed help <command>) says more about each.',
    'Exit status: 0 done, 1 something outside failed (a site or Kafka did not answer,',
    'kamailio -c refused a config), 2 bad input.',
  ].join('\n');
}

/** Runs one ccfed invocation (argv without node and the script) and resolves with its exit code. */
export async function run(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) return run([rest[0], '--help'], ctx);
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? ctx.io.err : ctx.io.out)(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    ctx.io.err(`ccfed: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.io.err(`ccfed ${name}: ${err.message}${err.hint ? `\n\n${err.hint}` : ''}`);
      return EXIT.usage;
    }
    if (err instanceof OperationError) {
      ctx.io.err(`ccfed ${name}: ${err.message}`);
      return EXIT.failed;
    }
    throw err;
  }
}
