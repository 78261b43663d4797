// Reads vitest's JSON report and prints CI's closing line, exactly `N passed, N failed` (skipped tests, if any, on the line before).
import { readFileSync } from 'node:fs';

interface AssertionResult {
  status: string;
}
interface Report {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  numFailedTestSuites?: number;
  success?: boolean;
  testResults?: Array<{ status?: string; assertionResults?: AssertionResult[] }>;
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts from the report; a suite that failed to load counts as one failure, so it is never hidden. */
export function summarize(report: Report): Summary {
  const passed = report.numPassedTests ?? 0;
  let failed = report.numFailedTests ?? 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  const brokenSuites = (report.testResults ?? []).filter(
    (r) => r.status === 'failed' && (r.assertionResults ?? []).every((a) => a.status !== 'failed'),
  ).length;
  failed += brokenSuites;
  if (report.success === false && failed === 0) failed = 1;
  return { passed, failed, skipped };
}

/** The closing line: exactly `N passed, N failed`, whatever was skipped. */
export function formatSummary(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed`;
}

/** The line before it, when tests were skipped (for example the real-fixture replays). */
export function skippedLine(s: Summary): string | undefined {
  return s.skipped > 0 ? `${s.skipped} skipped` : undefined;
}

const isMain = process.argv[1]?.endsWith('ci-summary.ts');
if (isMain) {
  const path = process.argv[2] ?? 'reports/vitest.json';
  let summary: Summary;
  try {
    summary = summarize(JSON.parse(readFileSync(path, 'utf8')) as Report);
  } catch (err) {
    console.error(`cannot read the test report ${path}: ${(err as Error).message}`);
    summary = { passed: 0, failed: 1, skipped: 0 };
  }
  const skipped = skippedLine(summary);
  if (skipped) console.log(skipped);
  console.log(formatSummary(summary));
  process.exit(summary.failed > 0 ? 1 : 0);
}
