// Builds the SwarmUI page into dist/ (index.html, app.js, app.css) with
// esbuild's API. Run by `make ui` after `npm ci`; no CDN, no inline code,
// so the server's CSP (script-src 'self'; style-src 'self') holds.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
mkdirSync(dist, { recursive: true });

const common = { bundle: true, minify: true, logLevel: 'warning', legalComments: 'none' };
await build({
  ...common,
  entryPoints: [join(here, 'src', 'main.js')],
  outfile: join(dist, 'app.js'),
  format: 'iife',
  target: ['es2020'],
});
await build({ ...common, entryPoints: [join(here, 'src', 'app.css')], outfile: join(dist, 'app.css') });
copyFileSync(join(here, 'index.html'), join(dist, 'index.html'));
console.log('swarmui web: built dist/index.html dist/app.js dist/app.css');
