import type { Reporter, TestModule } from 'vitest/node';

/** How many of the slowest test files the summary lists. */
const SLOWEST_SHOWN = 15;

/**
 * Ends the run with one plain line, `vitest: N passed, N failed, N skipped`, that CI and people
 * can read without knowing vitest's own format, after the slowest files and their durations: the
 * suite has a 30-minute budget, and a passing run's log is the only place those figures are kept.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      // A file that failed to load counts as a failure even though it ran no test.
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed += 1;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    process.stdout.write(slowestFiles(modules));
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

/** The slowest files, by the time their tests and hooks took, as an aligned plain-text list. */
export function slowestFiles(modules: ReadonlyArray<TestModule>): string {
  const timed = modules
    .map((m) => ({ file: m.relativeModuleId, ms: m.diagnostic().duration }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, SLOWEST_SHOWN);
  if (timed.length === 0) return '';
  const lines = timed.map(({ file, ms }) => `${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`);
  return `\nslowest test files (tests and hooks):\n${lines.join('\n')}\n`;
}
