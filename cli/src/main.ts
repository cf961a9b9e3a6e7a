// The `ccfed` command: wires the process (argv, env, stdout/stderr, signals) to run() and exits
// with its code. An unexpected error is a bug: its stack goes to stderr and the exit is 1.
import { processOutput } from './io.js';
import { run } from './run.js';

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => stop.abort());
}

let code: number;
try {
  code = await run(process.argv.slice(2), {
    env: process.env,
    io: processOutput,
    signal: stop.signal,
  });
} catch (err) {
  process.stderr.write(
    `ccfed: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  code = 1;
}
// Channels and Kafka clients are closed by now; exit rather than wait for a straggling timer.
process.exit(code);
