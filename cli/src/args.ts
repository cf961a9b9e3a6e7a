import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs, strict, with `--help` on every command; what it refuses (an unknown option, a
 * missing value) becomes a UsageError that carries the command's usage.
 */
export function parseCommandArgs<O extends Options>(
  argv: readonly string[],
  options: O,
  usage: string,
) {
  try {
    return parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
}

/** Exactly `names.length` positional arguments, or a UsageError naming the missing or extra ones. */
export function positionals(
  given: readonly string[],
  names: readonly string[],
  usage: string,
): string[] {
  if (given.length < names.length) {
    throw new UsageError(
      `missing ${names
        .slice(given.length)
        .map((n) => `<${n}>`)
        .join(' ')}`,
      usage,
    );
  }
  if (given.length > names.length) {
    throw new UsageError(
      `unexpected argument${given.length - names.length > 1 ? 's' : ''}: ${given.slice(names.length).join(' ')}`,
      usage,
    );
  }
  return [...given];
}
