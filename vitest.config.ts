import { defineConfig } from 'vitest/config';

// Two projects: unit tests next to the code (pure, no engines), and cross-component tests in
// tests/ against real Kafka and ClickHouse, started once for the run by the global setup.
export default defineConfig({
  test: {
    reporters: ['default', './tests/setup/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          // Pure tests need no fresh module graph per file: sharing it cut the project from 112 s
          // to 51 s on two cores (import time 39 s to 8 s). Three runs in shuffled file order
          // passed; a test file that leaves global state behind must clean it up.
          isolate: false,
          include: [
            '{proto,topology,common,services,site-agent}/src/**/*.test.ts',
            'central/*/src/**/*.test.ts',
            'deploy/src/**/*.test.ts',
            'dashboards/src/**/*.test.ts',
            'cli/src/**/*.test.ts',
            'bench/**/*.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          globalSetup: ['tests/setup/global-engines.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The engines are shared and the machine has two cores: one file at a time.
          fileParallelism: false,
          // Tests marked concurrent (the benchmarks' smoke runs) go two at a time.
          maxConcurrency: 2,
        },
      },
    ],
  },
});
