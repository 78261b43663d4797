// Log-based metrics read only lines the code really logs: every filter's message and field is declared in functions/log-events.ts, and the code emits each of them.
import { beforeAll, describe, expect, it } from 'vitest';
import { LOG_EVENTS, type LogEventName } from '../../../functions/log-events.js';
import { functionSources, isBody, labelled, loadTerraform, type Body } from './load.js';

beforeAll(() => loadTerraform(), 120_000);

/**
 * Lines a metric counts that the lead's work on issue 13 adds (stale status). Until
 * the code logs them their metrics stay at zero; this list must shrink, never grow: the test fails
 * as soon as one is logged, so the check becomes active.
 */
const PENDING: readonly LogEventName[] = ['staleCalendars'];

const byMessage = new Map<
  string,
  { name: LogEventName; message: string; fields: readonly string[] }
>(Object.entries(LOG_EVENTS).map(([name, e]) => [e.message, { name: name as LogEventName, ...e }]));

/** What a log-based metric reads: the message it filters on, and every jsonPayload field it names. */
function readsOf(metric: Body): { message: string; fields: string[] } {
  const texts = [
    String(metric.filter ?? ''),
    String(metric.value_extractor ?? ''),
    ...(isBody(metric.label_extractors) ? Object.values(metric.label_extractors).map(String) : []),
  ].join(' ');
  const messages = [...texts.matchAll(/jsonPayload\.message\s*=\s*\\?"([^"\\]+)\\?"/g)].map(
    (m) => m[1]!,
  );
  expect(messages, `exactly one message in ${String(metric.filter)}`).toHaveLength(1);
  const fields = [...texts.matchAll(/jsonPayload\.([A-Za-z_][\w.]*)/g)]
    .map((m) => m[1]!)
    .filter((f) => f !== 'message');
  return { message: messages[0]!, fields: [...new Set(fields)] };
}

/** Where the code logs an event: a log call with its message, literally or through LOG_EVENTS. */
function emitters(name: LogEventName): { path: string; text: string }[] {
  const { message } = LOG_EVENTS[name];
  const literal = new RegExp(
    `\\.(?:debug|info|warn|error)\\(\\s*'${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`,
  );
  const named = new RegExp(`LOG_EVENTS\\.${name}\\.message`);
  return functionSources().filter(
    (f) => f.path !== 'functions/log-events.ts' && (literal.test(f.text) || named.test(f.text)),
  );
}

describe('log-based metrics (infra/monitoring.tf) and the lines they read', () => {
  it('finds the metrics', async () => {
    const metrics = labelled(await loadTerraform(), 'resource', 'google_logging_metric');
    expect(metrics.size).toBeGreaterThanOrEqual(8);
  });

  it('names only messages and fields declared in functions/log-events.ts', async () => {
    const metrics = labelled(await loadTerraform(), 'resource', 'google_logging_metric');
    for (const [name, metric] of metrics) {
      const { message, fields } = readsOf(metric);
      const event = byMessage.get(message);
      expect(event, `${name}: "${message}" is not in LOG_EVENTS`).toBeDefined();
      for (const f of fields) expect(event!.fields, `${name} reads jsonPayload.${f}`).toContain(f);
    }
  });

  it('every line a metric reads is logged by the code, with the fields it reads', async () => {
    const metrics = labelled(await loadTerraform(), 'resource', 'google_logging_metric');
    const used = new Set([...metrics.values()].map((m) => byMessage.get(readsOf(m).message)!.name));
    for (const name of used) {
      const found = emitters(name);
      if (PENDING.includes(name)) {
        expect(
          found.map((f) => f.path),
          `${name} is logged now: remove it from PENDING`,
        ).toEqual([]);
        continue;
      }
      expect(found.length, `nothing logs "${LOG_EVENTS[name].message}"`).toBeGreaterThan(0);
      for (const field of LOG_EVENTS[name].fields) {
        for (const part of field.split('.')) {
          const inAnEmitter = found.some((f) => new RegExp(`\\b${part}\\b`).test(f.text));
          expect(inAnEmitter, `${name}: no emitter of it mentions the field ${part}`).toBe(true);
        }
      }
    }
  });

  it('fails when a line is renamed (the check really looks)', () => {
    const real = functionSources();
    const renamed = real.map((f) => ({
      ...f,
      text: f.text.replaceAll('LOG_EVENTS.syncResult', 'X'),
    }));
    const find = (files: typeof real) =>
      files.filter((f) => /LOG_EVENTS\.syncResult\.message/.test(f.text)).length;
    expect(find(real)).toBeGreaterThan(0);
    expect(find(renamed)).toBe(0);
  });
});
