// Builds the fair-peer baseline page (bench/baseline.js) into the
// directory named by argv[2]: index.html and baseline.js. Run by
// BenchmarkSwarmUILive after `make ui` (node_modules); not shipped.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, 'baseline.js')],
  outfile: join(out, 'baseline.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  logLevel: 'warning',
});
writeFileSync(
  join(out, 'index.html'),
  '<!doctype html><html><head><meta charset="utf-8"><title>baseline</title>' +
    '<style>html,body{margin:0;height:100%;overflow:hidden}canvas{display:block}</style></head>' +
    '<body><canvas id="c"></canvas><script src="baseline.js"></script></body></html>\n',
);
console.log('baseline: built', out);
