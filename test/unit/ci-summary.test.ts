// The CI closing line is computed from vitest's JSON report, counting broken suites as failures.
import { describe, expect, it } from 'vitest';
import { formatSummary, skippedLine, summarize } from '../../scripts/ci-summary.js';

describe('ci summary', () => {
  it('counts passed, failed and skipped tests', () => {
    const s = summarize({
      numPassedTests: 10,
      numFailedTests: 2,
      numPendingTests: 3,
      numTodoTests: 1,
      success: false,
    });
    // The closing line is exactly `N passed, N failed`; skipped tests go on the line before.
    expect(formatSummary(s)).toBe('10 passed, 2 failed');
    expect(skippedLine(s)).toBe('4 skipped');
  });
  it('says nothing of skipped when none were', () => {
    const s = summarize({ numPassedTests: 5, numFailedTests: 0, success: true });
    expect(formatSummary(s)).toBe('5 passed, 0 failed');
    expect(skippedLine(s)).toBeUndefined();
  });
  it('counts a suite that failed to load as a failure', () => {
    const s = summarize({
      numPassedTests: 5,
      numFailedTests: 0,
      success: false,
      testResults: [{ status: 'failed', assertionResults: [] }],
    });
    expect(s.failed).toBe(1);
  });
});
