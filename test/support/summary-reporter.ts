import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line that any CI can read: `N passed, N failed, N skipped`. A file whose set-up
 * failed (its tests then count as skipped) counts as one failure, and is named.
 */
export class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const broken: string[] = [];
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      failed += failedHere;
      if (module.state() === 'failed' && failedHere === 0) {
        failed++;
        broken.push(module.moduleId);
      }
    }
    const files = broken.length > 0 ? ` (set-up failed: ${broken.join(', ')})` : '';
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped${files}\n`);
  }
}
