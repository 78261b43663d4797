// Test helper: reads infra/ and cloudbuild.yaml, parsing Terraform with HashiCorp's own HCL parser (@cdktf/hcl2json).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const INFRA = join(ROOT, 'infra');

/** A parsed HCL body: attributes are values, nested blocks are arrays of bodies. */
export type Body = Record<string, unknown>;

export interface TfFile {
  name: string;
  text: string;
  json: Body;
}

interface Hcl2Json {
  /** Parses one file; rejects with the parser's diagnostics (file:line,col) on a syntax error. */
  parse(filename: string, contents: string): Promise<Body>;
}

// Loaded through require rather than `import` because the package's typings pull in the DOM lib,
// which would change the global types of the whole project (setTimeout, fetch, ...).
const hcl = createRequire(import.meta.url)('@cdktf/hcl2json') as Hcl2Json;

export function parseHcl(filename: string, contents: string): Promise<Body> {
  return hcl.parse(filename, contents);
}

export function read(relativePath: string): string {
  return readFileSync(join(ROOT, relativePath), 'utf8');
}

/** Every file in infra/ whose name ends with one of the suffixes. */
export function infraFiles(...suffixes: string[]): string[] {
  return readdirSync(INFRA)
    .filter((f) => suffixes.some((s) => f.endsWith(s)))
    .sort();
}

const cached = new Map<string, Promise<TfFile[]>>();

/** All *.tf files of infra/ (or of infra/<subdir>, e.g. the delivery module), parsed once per test file. */
export function loadTerraform(subdir = ''): Promise<TfFile[]> {
  let files = cached.get(subdir);
  if (!files) {
    const dir = join(INFRA, subdir);
    files = Promise.all(
      readdirSync(dir)
        .filter((f) => f.endsWith('.tf'))
        .sort()
        .map(async (name) => {
          const text = readFileSync(join(dir, name), 'utf8');
          return { name, text, json: await parseHcl(name, text) };
        }),
    );
    cached.set(subdir, files);
  }
  return files;
}

/** Every TypeScript file under functions/, as repository-relative paths with their text. */
export function functionSources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) out.push({ path: rel, text: read(rel) });
    }
  };
  walk('functions');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Paths of the functions/ sources whose text matches `pattern`. */
export function sourcesContaining(pattern: RegExp): string[] {
  return functionSources()
    .filter((f) => pattern.test(f.text))
    .map((f) => f.path);
}

export function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first (only) instance of a nested block, e.g. block(fn, 'build_config'). */
export function block(body: Body, name: string): Body {
  const value = body[name];
  if (!Array.isArray(value) || !isBody(value[0])) {
    throw new Error(`no block "${name}" in ${Object.keys(body).join(', ')}`);
  }
  return value[0];
}

export function hasBlock(body: Body, name: string): boolean {
  const value = body[name];
  return Array.isArray(value) && value.length > 0;
}

/** Top-level blocks with two labels (`resource "type" "name"`, `data ...`) of one type, by name. */
export function labelled(files: TfFile[], kind: string, type: string): Map<string, Body> {
  const out = new Map<string, Body>();
  for (const file of files) {
    const byType = file.json[kind];
    if (!isBody(byType)) continue;
    const byName = byType[type];
    if (!isBody(byName)) continue;
    for (const [name, instances] of Object.entries(byName)) {
      if (out.has(name)) throw new Error(`${kind} ${type}.${name} is declared twice`);
      if (Array.isArray(instances) && isBody(instances[0])) out.set(name, instances[0]);
    }
  }
  return out;
}

export function resource(files: TfFile[], type: string, name: string): Body {
  const found = labelled(files, 'resource', type).get(name);
  if (!found) throw new Error(`resource ${type}.${name} not found`);
  return found;
}

/** All resources of every type: [type, name, body]. */
export function allResources(files: TfFile[]): [string, string, Body][] {
  const out: [string, string, Body][] = [];
  for (const file of files) {
    const resources = file.json.resource;
    if (!isBody(resources)) continue;
    for (const [type, byName] of Object.entries(resources)) {
      if (!isBody(byName)) continue;
      for (const [name, instances] of Object.entries(byName)) {
        if (Array.isArray(instances) && isBody(instances[0])) out.push([type, name, instances[0]]);
      }
    }
  }
  return out;
}

/** All `locals` blocks merged into one object. */
export function locals(files: TfFile[]): Body {
  const out: Body = {};
  for (const file of files) {
    const blocks = file.json.locals;
    if (!Array.isArray(blocks)) continue;
    for (const b of blocks) if (isBody(b)) Object.assign(out, b);
  }
  return out;
}

/** The default of a `variable` block. */
export function variableDefault(files: TfFile[], name: string): unknown {
  for (const file of files) {
    const vars = file.json.variable;
    if (!isBody(vars)) continue;
    const v = vars[name];
    if (Array.isArray(v) && isBody(v[0])) return v[0].default;
  }
  throw new Error(`variable ${name} not found`);
}

/** A string attribute, failing loudly when it is missing or not a string. */
export function str(body: Body, key: string): string {
  const value = body[key];
  if (typeof value !== 'string')
    throw new Error(`${key} is not a string: ${JSON.stringify(value)}`);
  return value;
}

export function num(body: Body, key: string): number {
  const value = body[key];
  if (typeof value !== 'number')
    throw new Error(`${key} is not a number: ${JSON.stringify(value)}`);
  return value;
}

/** Environment variable names functions/config.ts reads (`r.int('NAME', ...)`, `env.NAME`). */
export function configVariableNames(): Set<string> {
  const source = read('functions/config.ts');
  const names = new Set<string>();
  for (const m of source.matchAll(/\br\.[a-zA-Z]+\(\s*'([A-Z][A-Z0-9_]*)'/g)) names.add(m[1]!);
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!);
  return names;
}

export interface FunctionSettings {
  entry_point: string;
  memory: string;
  cpu: string;
  concurrency: number | string;
  timeout: number;
  max_instances: number | string;
}

/** `local.functions` of functions.tf: per-function entry point and sizing, keyed like the resources. */
export function functionSettings(files: TfFile[]): Record<string, FunctionSettings> {
  const fns = locals(files).functions;
  if (!isBody(fns)) throw new Error('local.functions not found');
  return fns as unknown as Record<string, FunctionSettings>;
}

// --- firestore.indexes.json (Firebase CLI format) ---

export type Order = 'ASCENDING' | 'DESCENDING';
export interface IndexField {
  fieldPath: string;
  order?: Order;
  arrayConfig?: 'CONTAINS';
}
export interface Index {
  collectionGroup: string;
  queryScope: 'COLLECTION' | 'COLLECTION_GROUP';
  fields: IndexField[];
}
export interface FieldOverride {
  collectionGroup: string;
  fieldPath: string;
  ttl?: boolean;
  indexes?: { order?: Order; arrayConfig?: 'CONTAINS'; queryScope: string }[];
}
export interface IndexFile {
  indexes: Index[];
  fieldOverrides: FieldOverride[];
}

/**
 * Whether a composite index serves `equalities` (any order) followed by a range / order on
 * `ordered` (ascending), in one collection.
 */
export function served(
  file: IndexFile,
  collection: string,
  equalities: string[],
  ordered: string[],
): boolean {
  return file.indexes.some((idx) => {
    if (idx.collectionGroup !== collection || idx.queryScope !== 'COLLECTION') return false;
    const paths = idx.fields.map((f) => f.fieldPath);
    if (paths.length !== equalities.length + ordered.length) return false;
    const head = paths.slice(0, equalities.length).sort();
    const tail = idx.fields.slice(equalities.length);
    return (
      JSON.stringify(head) === JSON.stringify([...equalities].sort()) &&
      tail.every((f, i) => f.fieldPath === ordered[i] && f.order === 'ASCENDING')
    );
  });
}

/** Single-field queries need the automatic index, so no override may exempt the field. */
export function exempted(file: IndexFile, collection: string, field: string): boolean {
  return file.fieldOverrides.some(
    (o) =>
      o.collectionGroup === collection &&
      o.fieldPath === field &&
      (o.indexes ?? []).length === 0 &&
      o.indexes !== undefined,
  );
}
