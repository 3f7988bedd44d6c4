// tests/browser/ui_trends.test.mjs - a scripted user's custom metrics in
// the web UI (issue 14), in headless Chromium, against a running master
// whose run has started (--autostart):
//
//   APEX_UI_URL=http://127.0.0.1:8090/ [APEX_BROWSER_OUT=DIR] \
//   node --test --test-reporter=tap tests/browser/ui_trends.test.mjs
//
// tests/integration/test_lua.py starts the master, a worker and the
// scenario: a Lua class that records apex.trend("cart_size", 2.5) and
// apex.counter("lists") per task. The Trends tab appears, and its row
// says what the master's /stats/requests says (apex.trends); the counter
// is among the run-wide figures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  guardNetwork, launch, openTab, outputDir, screenshot, tableRows, until,
  watchErrors,
} from './lib.mjs';

const URL_ = process.env.APEX_UI_URL;
const OUT = outputDir();

describe('apex-master web UI: custom metrics of scripts', {
  skip: URL_ ? false : 'APEX_UI_URL is not set (a running apex-master UI)',
  timeout: 90_000,
}, () => {
  let browser;
  let page;
  let errors;

  before(async () => {
    const origin = new URL(URL_).origin;
    browser = await launch({ viewport: { width: 1000, height: 800 } });
    page = await browser.context.newPage();
    errors = watchErrors(page);
    await guardNetwork(page, (u) => new URL(u).origin === origin);
    await page.goto(URL_);
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the trends tab with the master\'s figures', async () => {
    await until('the Trends tab', async () => {
      const hidden = await page.$eval('#tab-trends', (el) => el.hidden);
      return { ok: !hidden, seen: { hidden } };
    }, 30_000);
    await openTab(page, 'trends');
    // The run goes on: compare the table with the answer it was drawn
    // from (the same poll).
    const { rows, trend } = await until('a cart_size row', async () => {
      const got = await page.evaluate(() => {
        const t = (window.apexUI.stats.apex.trends || [])
          .find((x) => x.name === 'cart_size');
        const tr = Array.from(document.querySelectorAll(
          '#trends-table tbody tr')).map((r) => Array.from(r.cells)
          .map((c) => c.textContent.trim()));
        return { trend: t, rows: tr };
      });
      const row = got.rows.find((r) => r[0] === 'cart_size');
      return {
        ok: got.trend && row && Number(row[1].replace(/,/g, '')) ===
          got.trend.count,
        value: got, seen: got,
      };
    });
    assert.ok(trend.count > 0);
    const row = rows.find((r) => r[0] === 'cart_size');
    assert.deepEqual(row.slice(2), ['2.5', '2.5', '2.5', '2.5', '2.5',
      '2.5', '2.5']);
    const figures = await tableRows(page, 'trends-table');
    assert.equal(figures.length, 1);
    await screenshot(page, OUT, 'ui-trends');
    errors.check();
  });

  it('shows the scripts\' counter among the run-wide figures', async () => {
    const names = await until('the lists counter', async () => {
      const got = await page.$$eval('#figures-list .fig',
        (els) => els.map((el) => el.dataset.name));
      return { ok: got.includes('lists'), value: got, seen: got };
    });
    assert.ok(names.includes('lists'));
    errors.check();
  });
});
