// npm run bench:table — writes the README's benchmark figures (bench/results-table.ts) from
// bench/results/*.json between its markers. `-- --check` only says whether the README is current.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RESULTS_DIR, ROOT } from './harness.js';
import { readResults, renderTable, withTable } from './results-table.js';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const readme = join(ROOT, 'README.md');
const text = readFileSync(readme, 'utf8');
const next = withTable(text, renderTable(readResults(RESULTS_DIR)));
if (values.check) {
  if (next !== text) {
    console.error(
      'README.md: the benchmark table differs from bench/results/; npm run bench:table',
    );
    process.exit(1);
  }
  console.log('README.md: the benchmark table matches bench/results/');
} else if (next === text) console.log('README.md: the benchmark table is already current');
else {
  writeFileSync(readme, next);
  console.log('README.md: benchmark table written from bench/results/');
}
