// Bundles the page's TypeScript and the Firebase web SDK into one browser script with esbuild, in memory.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'page');

export interface PageAssets {
  'index.html': string;
  'style.css': string;
  'main.js': string;
}

/** The page's three files, built fresh from web/page/ (about a second; nothing is written to disk). */
export async function buildPage(): Promise<PageAssets> {
  const result = await build({
    entryPoints: [join(PAGE_DIR, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles[0];
  if (!js) throw new Error('esbuild produced no output for web/page/main.ts');
  return {
    'index.html': readFileSync(join(PAGE_DIR, 'index.html'), 'utf8'),
    'style.css': readFileSync(join(PAGE_DIR, 'style.css'), 'utf8'),
    'main.js': js.text,
  };
}
