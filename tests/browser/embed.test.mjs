// tests/browser/embed.test.mjs - scripts/embed.py and master/assets.c on a
// made-up manifest in a temporary folder: inlining and its escapes, the
// generated C (compiled with the project's warnings and run against
// master/assets.c), the dependency file, and the errors for bad input.
// Needs python3 and cc; no browser.
//
//   node --test --test-reporter=tap tests/browser/embed.test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync }
  from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ROOT } from './lib.mjs';

const EMBED = path.join(ROOT, 'scripts', 'embed.py');
const CFLAGS = ['-std=c11', '-D_GNU_SOURCE', '-O1', '-Wall', '-Wextra',
  '-Werror', '-Wshadow', '-Wstrict-prototypes', '-Wmissing-prototypes',
  '-Wformat=2', '-Wvla'];

const JS = 'var a = "</script>", b = "</SCRIPT ";\nwindow.ok = a + b;\n';
const CSS = 'body::after { content: "</style>"; }\n';
const LICENSE = 'MIT -- keep this notice\n';
const BIN = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const PAGE = `<!DOCTYPE html><html><head>
<!-- apex:inline-css web/a.css -->
</head><body>
<script id="apex-report-data" type="application/json">__APEX_REPORT_DATA__</script>
<!--apex:inline-js web/a.js-->
<!-- apex:inline-comment web/LICENSE -->
</body></html>
`;
const MANIFEST = `# test manifest
report.html   text/html; charset=utf-8   web/page.html

/bin.dat      application/octet-stream   web/bin.dat
`;

// Write files {relative path: content} under dir.
function put(dir, files) {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
}

function embed(root, ...args) {
  return spawnSync('python3', [EMBED, '--root', root, ...args],
    { encoding: 'utf8' });
}

describe('scripts/embed.py', () => {
  let dir;
  let out;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'apex-embed-'));
    out = path.join(dir, 'out');
    put(dir, {
      'web/assets.txt': MANIFEST, 'web/page.html': PAGE, 'web/a.js': JS,
      'web/a.css': CSS, 'web/LICENSE': LICENSE, 'web/bin.dat': BIN,
    });
    const r = embed(dir, '--c', path.join(out, 'assets.c'),
      '--dep', path.join(out, 'assets.d'), '--dump', path.join(out, 'dump'));
    assert.equal(r.status, 0, r.stderr);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('inlines CSS, JS and comments with their end tags escaped', () => {
    const html = readFileSync(path.join(out, 'dump', 'report.html'), 'utf8');
    assert.ok(!html.includes('apex:inline'));
    assert.ok(html.includes('<style>\nbody::after { content: "<\\/style>"; }'));
    assert.ok(html.includes('var a = "<\\/script>", b = "<\\/SCRIPT ";'));
    assert.ok(html.includes('<!--\nMIT - - keep this notice\n-->'));
    // Only the template's own tags close elements.
    assert.equal(html.match(/<\/script/gi).length, 2);
    assert.equal(html.match(/<\/style/gi).length, 1);
    assert.equal(html.split('__APEX_REPORT_DATA__').length, 2);
  });

  it('copies other assets byte for byte', () => {
    assert.deepEqual(readFileSync(path.join(out, 'dump', 'bin.dat')), BIN);
    const got = execFileSync('python3', [EMBED, '--root', dir, '--get',
      '/bin.dat']);
    assert.deepEqual(got, BIN);
  });

  it('lists every input in the dependency file', () => {
    const dep = readFileSync(path.join(out, 'assets.d'), 'utf8');
    const first = dep.split('\n')[0];
    assert.ok(first.startsWith(`${path.join(out, 'assets.c')}: `));
    for (const f of ['web/assets.txt', 'web/page.html', 'web/a.css',
      'web/a.js', 'web/LICENSE', 'web/bin.dat']) {
      assert.ok(first.includes(` ${f}`), f);
      assert.ok(dep.includes(`\n${f}:\n`), `${f} as an empty rule`);
    }
  });

  it('generates C that compiles cleanly and works with master/assets.c',
    () => {
      const main = path.join(dir, 'main.c');
      writeFileSync(main, `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "master/assets.h"
#define CHECK(c) do { if (!(c)) { printf("FAIL %s\\n", #c); return 1; } } while (0)
int main(void)
{
    CHECK(master_nassets == 2);
    const master_asset_t *bin = master_asset_find("/bin.dat");
    CHECK(bin && bin->size == 256 && bin->data[255] == 255 &&
          bin->data[256] == 0);
    CHECK(strcmp(bin->content_type, "application/octet-stream") == 0);
    CHECK(master_asset_find("/nope") == NULL);
    const master_asset_t *tpl = master_asset_find("report.html");
    CHECK(tpl && strlen((const char *)tpl->data) == tpl->size);
    const char *json = "{\\"e\\":\\"</script><!--<script>\\"}";
    char *html = master_report_html(json);
    CHECK(html != NULL);
    CHECK(strstr(html, "__APEX_REPORT_DATA__") == NULL);
    CHECK(strstr(html, "{\\"e\\":\\"\\\\u003c/script>\\\\u003c!--"
                       "\\\\u003cscript>\\"}</script>") != NULL);
    CHECK(strlen(html) == tpl->size - strlen("__APEX_REPORT_DATA__") +
                              strlen(json) + 3 * 5);
    free(html);
    printf("ok\\n");
    return 0;
}
`);
      const exe = path.join(dir, 'main');
      execFileSync('cc', [...CFLAGS, '-I', ROOT, '-o', exe, main,
        path.join(out, 'assets.c'), path.join(ROOT, 'master', 'assets.c'),
        path.join(ROOT, 'common', 'buf.c'),
        path.join(ROOT, 'common', 'alloc.c')], { stdio: 'inherit' });
      assert.equal(execFileSync(exe, { encoding: 'utf8' }), 'ok\n');
    });

  const bad = [
    ['a missing source', { 'web/assets.txt': 'x text/plain web/none.txt\n' },
      /web\/none\.txt: No such file/],
    ['a line without a source', { 'web/assets.txt': 'x text/plain\n' },
      /assets\.txt:1: expected URL-PATH CONTENT-TYPE SOURCE-FILE/],
    ['a path listed twice',
      { 'web/assets.txt': 'x a/b web/f\nx a/b web/f\n', 'web/f': '' },
      /assets\.txt:2: x is listed twice/],
    ['an unknown marker', {
      'web/assets.txt': 'r.html text/html web/r.html\n',
      'web/r.html': '<!-- apex:inline-png web/f -->', 'web/f': '',
    }, /unknown marker/],
    ['a report without its data marker', {
      'web/assets.txt': 'report.html text/html web/r.html\n',
      'web/r.html': '<p>no marker</p>',
    }, /__APEX_REPORT_DATA__ 0 times, not once/],
    ['an empty manifest', { 'web/assets.txt': '# nothing\n' },
      /lists no asset/],
  ];
  for (const [what, files, message] of bad) {
    it(`fails on ${what}`, () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'apex-embed-bad-'));
      try {
        put(root, files);
        const c = path.join(root, 'out.c');
        const r = embed(root, '--c', c);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^embed: /);
        assert.match(r.stderr, message);
        assert.equal(spawnSync('test', ['-e', c]).status, 1, 'no output');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
