// tests/browser/render.mjs - make an HTML report from a JSON document the
// way apex-master does (master_report_html in master/assets.c), so the
// report can be tested without a run:
//
//   node tests/browser/render.mjs REPORT.json OUT.html [--template FILE]
//
// The template is web/report.html with its assets inlined, built fresh by
// `python3 scripts/embed.py --get report.html` (needs web/node_modules:
// `make web-deps`), or FILE (for example build/gen/web/report.html).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
  '..', '..');
export const MARKER = '__APEX_REPORT_DATA__';

// The inlined report template, as the build embeds it.
export function buildTemplate() {
  return execFileSync('python3', [path.join(ROOT, 'scripts', 'embed.py'),
    '--root', ROOT, '--get', 'report.html'], { encoding: 'utf8' });
}

// The template with its one marker replaced by json, every '<' written as
// the JSON escape \u003c (as master_report_html does).
export function renderReport(json, template) {
  const at = template.indexOf(MARKER);
  if (at < 0) {
    throw new Error(`the template lacks ${MARKER}`);
  }
  JSON.parse(json); // a document, or fail here rather than in the browser
  return template.slice(0, at) + json.replaceAll('<', '\\u003c') +
    template.slice(at + MARKER.length);
}

function main(argv) {
  const args = argv.slice(2);
  let template = null;
  const at = args.indexOf('--template');
  if (at >= 0) {
    template = readFileSync(args[at + 1], 'utf8');
    args.splice(at, 2);
  }
  if (args.length !== 2) {
    process.stderr.write(
      'usage: node tests/browser/render.mjs REPORT.json OUT.html ' +
      '[--template FILE]\n');
    return 2;
  }
  const html = renderReport(readFileSync(args[0], 'utf8'),
    template ?? buildTemplate());
  writeFileSync(args[1], html);
  return 0;
}

if (process.argv[1] &&
    path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv);
}
