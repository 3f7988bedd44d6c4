// tests/browser/ui_views.test.mjs - the web UI's views for a first run
// (issue 17) in headless Chromium, against a running master that has no
// worker yet:
//
//   APEX_UI_URL=http://127.0.0.1:8090/ APEX_UI_MASTER_PORT=5557 \
//   APEX_UI_NEEDS_WORKER=FILE [APEX_BROWSER_OUT=DIR] \
//   node --test --test-reporter=tap tests/browser/ui_views.test.mjs
//
// tests/integration/test_web.py starts the master (with the scenario
// below), and one apex-worker once this test has created FILE. The steps
// share one page, in order: with no worker the page says which command
// starts one (and keeps the start form closed); once the worker is in, the
// form opens and starts 3 users for 5 s; Current ratio shows GET ./tasks
// (Locust's ratios) as text; the names of the Statistics table wrap only
// where a name may wrap ('/', '?', '&' before, '-', '_' after), inside a
// word only when the word alone is wider than the column; response times
// below 10 ms have two decimals; the run-wide figures panel shows the
// workers' counters, gauges and checks; once the run time is over, the
// charts' time axis spans the run and no more. The scenario
// (test_web.py): LongNamesUser (weight 2) with tasks "listing" (weight 3,
// a long URL-like name ending in a long token) and "health_check" (weight
// 1, check "healthy"), and SocketUser (weight 1) echoing over a
// WebSocket.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  checkWraps, guardNetwork, header, launch, lineBreaks, openTab, outputDir,
  screenshot, tableRows, until, watchErrors,
} from './lib.mjs';

const URL_ = process.env.APEX_UI_URL;
const MASTER_PORT = process.env.APEX_UI_MASTER_PORT;
const NEEDS_WORKER = process.env.APEX_UI_NEEDS_WORKER;
const OUT = outputDir();
const STEP = 40_000;
const RUN_SECONDS = 5;

const num = (text) => {
  const n = Number(String(text).replace(/[,\s%]/g, ''));
  return Number.isFinite(n) ? n : null;
};

describe('apex-master web UI: a first run', {
  skip: URL_ ? false : 'APEX_UI_URL is not set (a running apex-master UI)',
  timeout: 150_000,
}, () => {
  let browser;
  let page;
  let errors;
  let net;

  before(async () => {
    const origin = new URL(URL_).origin;
    browser = await launch({ viewport: { width: 1000, height: 900 } });
    page = await browser.context.newPage();
    errors = watchErrors(page);
    net = await guardNetwork(page, (u) => new URL(u).origin === origin);
  }, { timeout: 60_000 });

  after(async () => {
    if (page && errors?.errors.length) {
      await screenshot(page, OUT, 'ui-views-at-error').catch(() => {});
    }
    await browser?.close();
  });

  it('says how to start a worker while none is connected',
    { timeout: STEP }, async () => {
      await page.goto(URL_, { waitUntil: 'load', timeout: 20_000 });
      await page.waitForSelector('body[data-updated]', { timeout: 20_000 });
      await page.waitForSelector('#no-workers:not([hidden])',
        { timeout: 10_000 });
      assert.equal((await header(page)).workers, '0');
      assert.equal(await page.textContent('#no-workers-cmd'),
        `apex-worker --master-host 127.0.0.1 --master-port ${MASTER_PORT}`);
      assert.match(await page.textContent('#no-workers'),
        /without --expect-workers.*one local worker per core/s);
      assert.equal(await page.isVisible('#swarm-dialog'), false,
        'no start form while it can only fail');
      await screenshot(page, OUT, 'ui-no-workers');
      if (NEEDS_WORKER) {
        await writeFile(NEEDS_WORKER, 'ready for a worker\n');
      }
      errors.check();
    });

  it('starts a 5 s run once a worker is in', { timeout: STEP }, async () => {
    await page.waitForSelector('#swarm-dialog[open]', { timeout: 30_000 });
    assert.equal(await page.isVisible('#no-workers'), false);
    assert.equal((await header(page)).workers, '1');
    await page.fill('#f-users', '3');
    await page.fill('#f-rate', '10');
    await page.fill('#f-runtime', `${RUN_SECONDS}s`);
    await page.click('#swarm-submit');
    await page.waitForSelector('#swarm-dialog', { state: 'hidden' });
    await until('RUNNING with 3 users', async () => {
      const h = await header(page);
      return { ok: h.status === 'RUNNING' && h.users === '3', seen: h };
    });
    errors.check();
  });

  it('shows the current ratio as Locust computes it', { timeout: STEP },
    async () => {
      await openTab(page, 'ratio');
      const rows = await until('class ratios above 0', async () => {
        const r = await tableRows(page, 'ratio-table');
        const classes = r.filter((x) => x.cls === 'class');
        return { ok: classes.length === 2 &&
          classes.every((c) => num(c.cells[1]) > 0), value: r, seen: r };
      });
      // The same figures as the master's /tasks, as Locust's UI words them.
      const expect = await page.evaluate(async () => {
        const d = await (await fetch('./tasks')).json();
        const f = window.apexViews.fmtRatio;
        const out = [];
        for (const [name, c] of Object.entries(d.per_class)) {
          out.push([name, f(c.ratio), f(d.total[name].ratio)]);
          for (const [t, v] of Object.entries(c.tasks)) {
            out.push([t, f(v.ratio), f(d.total[name].tasks[t].ratio)]);
          }
        }
        return out;
      });
      assert.deepEqual(rows.map((r) => r.cells), expect);
      const byName = Object.fromEntries(rows.map((r) => [r.cells[0],
        r.cells.slice(1).map(num)]));
      assert.deepEqual(byName.listing.slice(0, 1), [75]);
      assert.deepEqual(byName.health_check.slice(0, 1), [25]);
      assert.equal(byName.echo[0], 100);
      const classShare = byName.LongNamesUser[0];
      assert.equal(classShare + byName.SocketUser[0], 100);
      assert.ok(Math.abs(byName.listing[1] - classShare * 0.75) <= 0.1,
        `total ratio of listing ${byName.listing[1]}`);
      await screenshot(page, OUT, 'ui-ratio');
      errors.check();
    });

  it('wraps names where they may wrap', { timeout: STEP }, async () => {
    await openTab(page, 'stats');
    await until('the long name with requests', async () => {
      const r = await tableRows(page, 'stats-table');
      const long = r.find((x) => x.cells[1].includes('{try_number}'));
      return { ok: long && num(long.cells[2]) > 0, seen: r };
    });
    const cells = await lineBreaks(page, '#stats-table td.name');
    const long = cells.find((c) => c.text.includes('{try_number}'));
    assert.ok(long.breaks.length >= 3,
      `the long name wraps (${long.breaks.length} breaks, ${long.width} px)`);
    checkWraps(cells);
    assert.ok(long.inWord.length >= 1 &&
      long.inWord.every((w) => w.word.startsWith('token=')),
    'the token wider than the column breaks inside');
    await screenshot(page, OUT, 'ui-wrapped-names');
    errors.check();
  });

  it('shows times below 10 ms with two decimals', { timeout: STEP },
    async () => {
      const fmt = await page.evaluate(() => [0.5, 3, 0.269, 9.996, 12.34,
        1234.5].map(window.apexCommon.fmtMs));
      assert.deepEqual(fmt, ['0.50', '3.00', '0.27', '10.00', '12', '1,235']);
      const heads = await page.$$eval('#stats-table thead th',
        (ths) => ths.map((th) => th.textContent.trim()));
      const msCols = heads.map((t, i) => (/\(ms\)$/.test(t) ? i : -1))
        .filter((i) => i >= 0);
      assert.equal(msCols.length, 6);
      const rows = await tableRows(page, 'stats-table');
      let small = 0;
      for (const r of rows) {
        for (const i of msCols) {
          const v = num(r.cells[i]);
          if (v !== null && v < 10) {
            small++;
            assert.match(r.cells[i], /^\d\.\d\d$/, `${heads[i]} of ` +
              `${r.cells[1]}`);
          } else if (v !== null) {
            assert.match(r.cells[i], /^[\d,]+$/, `${heads[i]} of ` +
              `${r.cells[1]}`);
          }
        }
      }
      assert.ok(small > 0, 'apex-target answers in under 10 ms');
    });

  it('shows the run-wide figures and checks', { timeout: STEP }, async () => {
    const items = await until('WebSocket figures and the check',
      async () => {
        const got = await page.$$eval('#figures-list .fig', (els) =>
          els.map((el) => ({
            name: el.dataset.name,
            value: el.querySelector('dd').firstChild.textContent,
            detail: el.querySelector('.detail')?.textContent ?? null,
          })));
        const names = got.map((x) => x.name);
        return { ok: ['ws_sessions', 'ws_msgs_sent', 'ws_connections',
          'check:healthy'].every((n) => names.includes(n)) &&
          await page.isVisible('#run-figures'), value: got, seen: got };
      });
    // Each item says what the answer the panel was drawn from says.
    const apex = await page.evaluate(() => window.apexUI.stats.apex);
    const { counters, gauges, peaks } = apex.figures;
    const by = Object.fromEntries(items.map((x) => [x.name, x]));
    // A protocol's figures show when one of them is not 0 (the run had no
    // SQL step: its figures, all 0, are left out).
    const all = Object.entries({ ...counters, ...gauges, ...peaks });
    const used = (k) => all.some(([n, v]) => v &&
      n.split('_')[0] === k.split('_')[0]);
    assert.ok('sql_connects' in counters && !used('sql_connects'));
    for (const [k, v] of Object.entries(counters)) {
      assert.equal(by[k] ? num(by[k].value) : undefined,
        used(k) ? v : undefined, k);
    }
    assert.ok(counters.ws_sessions >= 1 && counters.ws_msgs_sent >= 1);
    for (const [k, v] of Object.entries(gauges)) {
      assert.equal(by[k] ? num(by[k].value) : undefined,
        used(k) ? v : undefined, k);
      if (used(k)) {
        assert.equal(by[k].detail, `peak ${peaks[k]}`, k);
      }
    }
    assert.ok(peaks.ws_connections >= 1);
    const healthy = apex.checks.find((c) => c.name === 'healthy');
    assert.ok(healthy.passes > 0 && healthy.fails === 0, healthy);
    assert.equal(by['check:healthy'].value, '100 %');
    assert.equal(by['check:healthy'].detail,
      `\u2713 ${healthy.passes.toLocaleString('en-US')} \u2717 0`);
    await screenshot(page, OUT, 'ui-figures');
    errors.check();
  });

  it('fits the charts\' time axis to the run', { timeout: STEP }, async () => {
    await until('the end of the run time', async () => {
      const h = await header(page);
      return { ok: h.status === 'STOPPED', seen: h };
    }, (RUN_SECONDS + 20) * 1000);
    await openTab(page, 'charts');
    await sleep(250); // the charts draw on the next frame
    const axis = await page.evaluate(() => {
      const ui = window.apexUI;
      const times = ui.history.map((p) => p.time);
      return {
        first: Math.min(...times), last: Math.max(...times),
        scales: ui.charts.plots.map((u) => [u.scales.x.min, u.scales.x.max]),
      };
    });
    const span = axis.last - axis.first;
    assert.ok(span >= 2 && span <= RUN_SECONDS + 6, `points over ${span} s`);
    for (const [min, max] of axis.scales) {
      assert.equal(min, axis.first, 'the axis starts with the run');
      assert.equal(max, axis.last, 'the axis ends with the run');
    }
    await screenshot(page, OUT, 'ui-short-run-charts');
    errors.check();
  });

  it('had no console error and asked only the master', () => {
    errors.check();
    net.check();
  });
});
