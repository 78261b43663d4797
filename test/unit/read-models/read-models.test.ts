// The read models: ids and paths as the functions write them, defaults for older calendar documents, and modules a browser can load.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  calendarPath,
  encodeDocId,
  eventPath,
  isTombstone,
  occurrencesPath,
  readCalendar,
  type MirrorDocument,
} from '../../../functions/read-models/index.js';
import { REPO_ROOT } from '../../stack/local-stack.js';

const MODELS = join(REPO_ROOT, 'functions', 'read-models');

/** What tsc emits for one module (isolatedModules: each file alone), and the specifiers it imports. */
function emittedImports(file: string): string[] {
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    // package.json "type": "module": the build emits ES modules.
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
    fileName: file,
  });
  const found = outputText.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g);
  return [...found].map((m) => m[1]!);
}

/** Every module the built `entry` loads at run time, as paths relative to read-models/ or bare specifiers. */
function runtimeGraph(entry: string): string[] {
  const seen = new Set<string>();
  const outside = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of emittedImports(file)) {
      if (!spec.startsWith('.')) outside.add(spec);
      else visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  visit(join(MODELS, entry));
  return [...[...seen].map((f) => relative(MODELS, f)), ...outside].sort();
}

describe('read models: ids and paths', () => {
  it('encodes ids exactly as Buffer base64url did (documents stay where they are)', () => {
    const viaBuffer = (id: string) => `~${Buffer.from(id, 'utf8').toString('base64url')}`;
    for (const id of ['a/b', '.', '..', '__x__', 'ünïcødé/😀', 'a/b?c=d&e=f/g>h', '/']) {
      expect(encodeDocId(id)).toBe(viaBuffer(id));
    }
    for (const id of [
      'primary',
      'en.usa#holiday@group.v.calendar.google.com',
      'abc_20260105T150000Z',
    ]) {
      expect(encodeDocId(id)).toBe(id);
    }
  });

  it('builds the user-readable paths the security rules govern', () => {
    expect(calendarPath('alice', 'a/b')).toBe(`users/alice/calendars/${encodeDocId('a/b')}`);
    expect(eventPath('alice', 'primary', 'e1')).toBe('users/alice/calendars/primary/events/e1');
    expect(occurrencesPath('alice', 'primary')).toBe('users/alice/calendars/primary/occurrences');
  });
});

describe('read models: reading documents', () => {
  it('reads a calendar document written before nextRetryAt, quarantined and counts existed with their defaults', () => {
    const old = readCalendar({ calendarId: 'c', sync: { status: 'active', mode: 'push' } });
    expect(old).toEqual({
      calendarId: 'c',
      summary: null,
      timeZone: null,
      counts: { events: 0 },
      sync: {
        status: 'active',
        mode: 'push',
        lastSyncedAt: null,
        lastError: null,
        nextRetryAt: null,
        quarantined: 0,
      },
    });
  });

  it('keeps every field a full calendar document has', () => {
    const at = { seconds: 1, nanoseconds: 0, toDate: () => new Date(1000), toMillis: () => 1000 };
    const full = {
      calendarId: 'c',
      summary: 'Team',
      timeZone: 'Europe/Berlin',
      counts: { events: 3, tombstones: 1 },
      sync: {
        status: 'error' as const,
        mode: 'poll' as const,
        lastSyncedAt: at,
        lastError: { code: 'rate_limited', reason: 'quota', at },
        nextRetryAt: at,
        quarantined: 2,
        account: 'a@example.com',
      },
    };
    expect(readCalendar(full)).toEqual(full);
  });

  it('tells tombstones from live events', () => {
    const docs: MirrorDocument[] = [
      { id: 'e', status: 'confirmed', startAt: null, endAt: null },
      {
        id: 's_20260105T150000Z',
        status: 'cancelled',
        recurringEventId: 's',
        originalStartTime: { dateTime: '2026-01-05T15:00:00Z' },
        startAt: null,
        endAt: null,
      },
    ];
    expect(docs.map((d) => isTombstone(d))).toEqual([false, true]);
  });
});

describe('read models: what a client loads', () => {
  it('the web module loads only read-models files: no SDK, no Node built-in, no server code', () => {
    expect(runtimeGraph('web.ts')).toEqual(['index.ts', 'paths.ts', 'read.ts', 'web.ts']);
  });

  it('the admin module needs the Admin SDK for its types only (nothing at run time)', () => {
    expect(runtimeGraph('admin.ts')).toEqual(['admin.ts', 'index.ts', 'paths.ts', 'read.ts']);
  });
});
