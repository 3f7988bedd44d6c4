// tests/browser/report.test.mjs - the HTML report in headless Chromium.
//
//   APEX_REPORT=run.html node --test --test-reporter=tap tests/browser/report.test.mjs
//   node --test-reporter=tap tests/browser/report.test.mjs run.html [more.html]
//
// For each report (an `apex-master --html` file): it opens it from
// file://, renders with no console or page error and asks for nothing
// but the file itself; the summary, thresholds, request, percentile,
// run-wide figure, custom trend, failure, exception and worker tables
// show what the report's own JSON document holds; response times below
// 10 ms have two decimals; names wrap only where a name may wrap (or
// inside a word wider than its column); each chart's canvas has drawn pixels, in the colour
// of every series with a non-zero value, and its time axis spans the run;
// a screenshot goes to $APEX_BROWSER_OUT (default build/browser).
//
// With no report given it renders tests/browser/sample-report.json (a
// 60 s stages run), sample-short.json (a 4 s run with WebSocket figures,
// a check and a long name, from a real apex-master) and sample-empty.json
// with the current template (render.mjs) and tests those, and checks that
// the bare template says it holds no data.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import {
  ROOT, canvasPixels, checkWraps, guardNetwork, launch, lineBreaks,
  outputDir, screenshot, watchErrors,
} from './lib.mjs';
import { buildTemplate, renderReport } from './render.mjs';

const TIMEOUT = 60_000;
const OUT = outputDir();

function reportsToTest() {
  const given = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (process.env.APEX_REPORT) {
    given.push(...process.env.APEX_REPORT.split(path.delimiter)
      .filter(Boolean));
  }
  if (given.length) {
    return { reports: given.map((f) => path.resolve(f)), template: null };
  }
  mkdirSync(OUT, { recursive: true });
  const template = buildTemplate();
  const samples = ['sample-report', 'sample-short', 'sample-empty'];
  const reports = samples.map((name) => {
    const json = readFileSync(
      path.join(ROOT, 'tests', 'browser', `${name}.json`), 'utf8');
    const file = path.join(OUT, `${name}.html`);
    writeFileSync(file, renderReport(json, template));
    return file;
  });
  const bare = path.join(OUT, 'template.html');
  writeFileSync(bare, template);
  return { reports, template: bare };
}

const num = (text) => {
  const n = Number(String(text).replace(/[,\s%]|ms$/g, ''));
  return Number.isFinite(n) ? n : null;
};

// The rows of table #id as arrays of cell texts.
async function tableRows(page, id) {
  return page.evaluate((tid) => {
    const t = document.getElementById(tid);
    if (!t) {
      return null;
    }
    return Array.from(t.querySelectorAll('tbody tr')).map((tr) => ({
      cls: tr.className,
      cells: Array.from(tr.cells).map((td) => td.textContent.trim()),
    }));
  }, id);
}

// Open file in a new page with the error and network guards on.
async function open(browser, file) {
  const url = pathToFileURL(file).href;
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const net = await guardNetwork(page, (u) => u === url);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-rendered]', { timeout: 10_000 });
  return { page, errors, net };
}

const { reports, template } = reportsToTest();

for (const file of reports) {
  const name = path.basename(file, '.html');

  describe(`report ${name}`, { timeout: TIMEOUT }, () => {
    let browser;
    let page;
    let errors;
    let net;
    let doc;

    before(async () => {
      browser = await launch();
      ({ page, errors, net } = await open(browser, file));
      doc = await page.evaluate(() => JSON.parse(
        document.getElementById('apex-report-data').textContent));
    }, { timeout: TIMEOUT });

    after(async () => {
      await browser?.close();
    });

    it('renders its JSON document with no console or page error', async () => {
      assert.equal(typeof doc, 'object');
      assert.equal(await page.getAttribute('body', 'data-rendered'), 'true');
      errors.check();
    });

    it('asks for nothing but the file itself', () => {
      net.check();
    });

    it('shows the run summary', async () => {
      const run = doc.run ?? {};
      const verdict = await page.textContent('#verdict');
      if (run.verdict) {
        assert.match(verdict.toLowerCase(), new RegExp(run.verdict));
      }
      if (run.exit_code != null) {
        assert.match(verdict, new RegExp(`exit code ${run.exit_code}\\b`));
      }
      const meta = await page.textContent('#summary .meta');
      if (run.host) {
        assert.ok(meta.includes(run.host), `host ${run.host} in ${meta}`);
      }
      if (run.start || run.start_time != null) {
        assert.match(meta, /UTC/);
      }
    });

    it('lists every threshold with its verdict', async () => {
      const ths = doc.thresholds ?? [];
      const rows = await tableRows(page, 'thresholds-table');
      if (!ths.length) {
        assert.equal(rows, null);
        assert.match(await page.textContent('#thresholds'),
          /No thresholds/);
        return;
      }
      assert.equal(rows.length, ths.length);
      ths.forEach((t, i) => {
        const { cls, cells } = rows[i];
        assert.equal(cells[0], t.ok ? '\u2713' : '\u2717', t.source);
        assert.equal(cls, t.ok ? 'ok' : 'failed', t.source);
        assert.ok(cells[1].includes(t.source), `${cells[1]} / ${t.source}`);
        if (t.observed != null) {
          assert.ok(Math.abs(num(cells[4].split(' ')[0]) - t.observed) <=
            Math.max(0.01, Math.abs(t.observed) * 1e-3),
          `${t.source}: observed ${cells[4]} vs ${t.observed}`);
        }
      });
      const statuses = await page.$$eval('#thresholds-table td.status',
        (tds) => tds.map((td) => getComputedStyle(td).color));
      ths.forEach((t, i) => {
        assert.equal(statuses[i], t.ok ? 'rgb(21, 128, 61)' :
          'rgb(185, 28, 28)', `colour of ${t.source}`);
      });
    });

    it('lists every entry and the total in the request tables', async () => {
      const entries = doc.entries ?? [];
      const stats = await tableRows(page, 'stats-table');
      const pct = await tableRows(page, 'percentiles-table');
      if (!entries.length && !doc.total?.requests) {
        assert.equal(stats, null);
        assert.equal(pct, null);
        return;
      }
      const expect = [...entries, ...(doc.total ? [doc.total] : [])];
      assert.equal(stats.length, expect.length);
      assert.equal(pct.length, expect.length);
      expect.forEach((e, i) => {
        const c = stats[i].cells;
        assert.deepEqual(c.slice(0, 2), [e.method ?? '', e.name ?? '']);
        assert.equal(num(c[2]), e.requests ?? null, `${e.name} requests`);
        assert.equal(num(c[3]), e.failures ?? null, `${e.name} failures`);
        if (e.median_ms != null) {
          // Two decimals below 10 ms, whole milliseconds above.
          const half = e.median_ms < 10 ? 0.005 : 0.5;
          assert.ok(Math.abs(num(c[4]) - e.median_ms) <= half + 1e-9,
            `${e.name} median ${c[4]}`);
        }
        const p = pct[i].cells;
        assert.deepEqual(p.slice(0, 2), [e.method ?? '', e.name ?? '']);
        assert.equal(p.length, 2 + 11 + 1);
      });
      if (doc.total) {
        assert.equal(stats.at(-1).cls, 'total');
      }
    });

    it('shows times below 10 ms with two decimals, above as whole ms',
      async () => {
        for (const id of ['stats-table', 'percentiles-table']) {
          const rows = (await tableRows(page, id)) ?? [];
          const heads = await page.$$eval(`#${id} thead th`,
            (ths) => ths.map((th) => th.textContent.trim()));
          const ms = heads.map((t, i) => (/^(Median|Average|Min|Max|[\d.]+%)$/
            .test(t) ? i : -1)).filter((i) => i >= 0);
          for (const r of rows) {
            for (const i of ms) {
              const v = num(r.cells[i]);
              if (v !== null) {
                assert.match(r.cells[i], v < 10 ? /^\d\.\d\d$/ : /^[\d,]+$/,
                  `${id} ${heads[i]} of ${r.cells[1]}`);
              }
            }
          }
        }
      });

    it('wraps names where they may wrap', async () => {
      checkWraps(await lineBreaks(page, 'td.name'));
    });

    it('lists the run-wide figures and checks', async () => {
      const rows = await tableRows(page, 'figures-table');
      const expect = await page.evaluate((d) => window.apexCommon
        .figureRows(d.figures, d.checks), doc);
      if (!expect.length) {
        assert.equal(rows, null);
        assert.match(await page.textContent('#figures'),
          /No run-wide figures/);
        return;
      }
      assert.deepEqual(rows.map((r) => r.cells.slice(1, 2).concat(
        r.cells.slice(3))), expect.map((r) => [r.name, r.value,
        r.detail ?? '']));
      const counters = doc.figures?.counters ?? {};
      for (const r of rows) {
        if (r.cells[1] in counters) {
          assert.equal(num(r.cells[3]), counters[r.cells[1]], r.cells[1]);
        }
      }
      for (const c of doc.checks ?? []) {
        const row = rows.find((r) => r.cells[1] === c.name);
        assert.equal(row.cls, c.fails ? 'failed' : 'ok', c.name);
        assert.equal(row.cells[0], c.fails ? '\u2717' : '\u2713');
      }
    });

    it('lists the scripts\' custom trends', async () => {
      const rows = await tableRows(page, 'trends-table');
      const trends = doc.trends ?? [];
      if (!trends.length) {
        assert.equal(rows, null);
        return;
      }
      assert.equal(rows.length, trends.length);
      trends.forEach((t, i) => {
        assert.equal(rows[i].cells[0], t.name);
        assert.equal(num(rows[i].cells[1]), t.count);
        ['avg', 'min', 'med', 'p90', 'p95', 'p99', 'max'].forEach((k, j) => {
          assert.ok(Math.abs(num(rows[i].cells[2 + j]) - t[k]) <= 5e-4,
            `${t.name} ${k}`);
        });
      });
    });

    it('lists every failure, exception and worker as text', async () => {
      const errs = doc.errors ?? [];
      const rows = await tableRows(page, 'failures-table');
      assert.equal(rows?.length ?? 0, errs.length);
      errs.forEach((e, i) => {
        assert.deepEqual(rows[i].cells,
          [e.method, e.name, e.error, String(e.occurrences)]);
      });
      const exc = doc.exceptions ?? [];
      assert.equal((await tableRows(page, 'exceptions-table'))?.length ?? 0,
        exc.length);
      const workers = doc.run?.workers ?? [];
      const wrows = await tableRows(page, 'workers-table');
      assert.equal(wrows?.length ?? 0, workers.length);
      workers.forEach((w, i) => assert.equal(wrows[i].cells[0], w.id));
    });

    it('draws every chart', async () => {
      const history = (doc.history ?? []).filter((p) => p.time != null);
      const charts = await canvasPixels(page, '.chart-box');
      if (!history.length) {
        assert.equal(charts.length, 0);
        assert.match(await page.textContent('#charts'), /No history/);
        return;
      }
      const has = (key) => history.some((p) => p[key] != null);
      assert.deepEqual(charts.map((c) => c.id),
        ['chart-rps', 'chart-response-times', 'chart-users']);
      const keys = {
        'chart-rps': ['rps', 'fail_per_sec',
          ...(has('target_rate') ? ['target_rate'] : [])],
        'chart-response-times': ['p50_ms', 'p95_ms'],
        'chart-users': ['users', ...(has('target_users') ? ['target_users'] : [])],
      };
      for (const c of charts) {
        assert.ok(c.canvas && c.width > 0 && c.height > 0, `${c.id} canvas`);
        assert.ok(c.drawn > 0, `${c.id}: no drawn pixel`);
        const colors = Object.keys(c.colors);
        assert.equal(colors.length, keys[c.id].length, `${c.id} series`);
        keys[c.id].forEach((key, k) => {
          // A series must show where it is not zero (a zero line hides in
          // the axis) and not covered by a later solid series with the
          // same value (uPlot draws series in order; targets are dashed).
          const above = keys[c.id].slice(k + 1)
            .filter((o) => !o.startsWith('target_'));
          const shows = history.some((p) => p[key] &&
            above.every((o) => p[o] !== p[key]));
          if (shows) {
            assert.ok(c.colors[colors[k]] > 0,
              `${c.id}: series ${key} (${colors[k]}) drew nothing`);
          }
        });
      }
    });

    it('spans the time axis over the run', async () => {
      const times = (doc.history ?? []).map((p) => p.time)
        .filter((t) => t != null);
      if (!times.length) {
        return;
      }
      const first = Math.min(...times);
      const last = Math.max(...times);
      const want = last - first >= 2 ? [first, last] : [last - 2, last];
      const scales = await page.evaluate(() => window.apexReport.charts
        .map((u) => [u.scales.x.min, u.scales.x.max]));
      assert.equal(scales.length, 3);
      for (const s of scales) {
        assert.deepEqual(s, want);
      }
    });

    it('saves a screenshot', async () => {
      const png = await screenshot(page, OUT, name);
      assert.ok(readFileSync(png).length > 1000);
    });

    it('had no console or page error at the end', () => {
      errors.check();
      net.check();
    });
  });
}

if (template) {
  describe('report template without data', { timeout: TIMEOUT }, () => {
    it('says it holds no data, without errors', async () => {
      const browser = await launch();
      try {
        const { page, errors, net } = await open(browser, template);
        assert.equal(await page.getAttribute('body', 'data-rendered'),
          'no-data');
        assert.match(await page.textContent('#no-data'), /no run data/);
        errors.check();
        net.check();
      } finally {
        await browser.close();
      }
    });
  });
}
