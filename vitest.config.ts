import { defineConfig } from 'vitest/config';
import { SummaryReporter } from './test/support/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Real clusters on two cores: a few files at a time, so node timeouts do not flap.
    maxWorkers: Number(process.env.SLOTWATCH_TEST_WORKERS ?? 3),
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ['default', new SummaryReporter()],
  },
});
