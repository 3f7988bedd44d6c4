// tests/browser/lib.mjs - helpers for the browser tests: launch Debian's
// Chromium headless through playwright-core (from web/node_modules; never
// a downloaded browser) with a fresh profile, fail on console and page
// errors, keep pages off the network, read chart pixels, save
// screenshots, and, for the web UI's tests, wait for a condition and read
// the header, tabs and tables.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
  '..', '..');

// playwright-core is a dependency of web/package.json, not of this folder.
const require = createRequire(path.join(ROOT, 'web', 'package.json'));

export const CHROMIUM = process.env.APEX_CHROMIUM || '/usr/bin/chromium';

// Without the background-networking switches Chromium keeps trying to
// reach Google's services, which this machine's network refuses.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Folder for screenshots and rendered files: APEX_BROWSER_OUT, else
// build/browser.
export function outputDir() {
  return process.env.APEX_BROWSER_OUT || path.join(ROOT, 'build', 'browser');
}

// Start Chromium with a new profile in a temporary folder. Returns
// {context, close()}; close() ends the browser and removes the profile.
// options: viewport, and contextOptions (more of playwright's
// launchPersistentContext options, e.g. httpCredentials).
export async function launch(options = {}) {
  let playwright;
  try {
    playwright = require('playwright-core');
  } catch (e) {
    throw new Error('playwright-core is missing: run `make web-deps` ' +
      `(npm ci --prefix web): ${e.message}`);
  }
  const profile = await mkdtemp(path.join(os.tmpdir(), 'apex-chromium-'));
  let context;
  try {
    context = await playwright.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: options.viewport ?? { width: 1280, height: 900 },
      deviceScaleFactor: 1,
      timeout: 60_000,
      ...(options.contextOptions ?? {}),
    });
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(`cannot start ${CHROMIUM} (apt-get install chromium): ` +
      e.message);
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// Collect every console error, uncaught page error and crash of page.
// check() fails the calling test if there was any.
export function watchErrors(page) {
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      const where = loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : '';
      errors.push(`console error: ${msg.text()}${where}`);
    }
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('crash', () => errors.push('page crashed'));
  return {
    errors,
    check() {
      assert.deepEqual(errors, [], 'console or page errors');
    },
  };
}

// Let the page load only URLs for which allow(url) is true: every other
// request is aborted and recorded. data: URLs are no network request.
// check() fails the calling test if anything else was asked for.
export async function guardNetwork(page, allow) {
  const refused = [];
  const ok = (url) => url.startsWith('data:') || allow(url);
  page.on('request', (req) => {
    if (!ok(req.url())) {
      refused.push(req.url());
    }
  });
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (ok(url)) {
      return route.continue();
    }
    return route.abort('blockedbyclient');
  });
  return {
    refused,
    check() {
      assert.deepEqual([...new Set(refused)], [],
        'requests other than the allowed ones');
    },
  };
}

// Save a full-page screenshot as DIR/NAME.png; returns the path.
export async function screenshot(page, dir, name) {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// For each canvas inside the elements matching selector: its size, the
// number of drawn pixels that are not white, and for each colour in the
// element's data-colors ("#rrggbb,...") the number of pixels close to it.
export async function canvasPixels(page, selector) {
  return page.evaluate((sel) => {
    const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
    return Array.from(document.querySelectorAll(sel)).map((box) => {
      const canvas = box.querySelector('canvas');
      if (!canvas) {
        return { id: box.id, canvas: false };
      }
      const colors = (box.dataset.colors || '').split(',').filter(Boolean);
      const want = colors.map(hex);
      const counts = colors.map(() => 0);
      const { width, height } = canvas;
      const px = canvas.getContext('2d').getImageData(0, 0, width, height).data;
      let drawn = 0;
      for (let i = 0; i < px.length; i += 4) {
        const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
        if (a === 0 || (r > 245 && g > 245 && b > 245)) {
          continue;
        }
        drawn++;
        if (a < 200) {
          continue;
        }
        want.forEach((w, k) => {
          if (Math.abs(r - w[0]) + Math.abs(g - w[1]) + Math.abs(b - w[2]) < 60) {
            counts[k]++;
          }
        });
      }
      return {
        id: box.id, canvas: true, width, height, drawn,
        colors: Object.fromEntries(colors.map((c, k) => [c, counts[k]])),
      };
    });
  }, selector);
}

// ---- the web UI (web/index.html) -----------------------------------------

// Call probe() every 250 ms until it returns {ok: true, value}; fail after
// ms with what it saw last ({seen}).
export async function until(what, probe, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await probe();
    if (r.ok) {
      return r.value;
    }
    if (Date.now() > end) {
      throw new Error(`no ${what} within ${ms / 1000} s; last seen: ` +
        JSON.stringify(r.seen ?? r.value));
    }
    await sleep(250);
  }
}

// The UI's header figures as texts.
export async function header(page) {
  return page.evaluate(() => {
    const t = (id) => document.getElementById(id).textContent.trim();
    return {
      host: t('hdr-host'), status: t('hdr-status'), users: t('hdr-users'),
      workers: t('hdr-workers'), rps: t('hdr-rps'),
      failures: t('hdr-failures'),
    };
  });
}

// The rows of table #id as {cls, cells: [text...]}.
export async function tableRows(page, id) {
  return page.evaluate((tid) => Array.from(
    document.querySelectorAll(`#${tid} tbody tr`)).map((tr) => ({
    cls: tr.className,
    cells: Array.from(tr.cells).map((td) => td.textContent.trim()),
  })), id);
}

// Click the UI's tab name and wait for its panel.
export async function openTab(page, name) {
  await page.click(`#tab-${name}`);
  await page.waitForSelector(`#panel-${name}:not([hidden])`,
    { timeout: 5_000 });
}

// ---- names in table cells ----------------------------------------------

// For each cell matching selector: its text, the index of each character
// that starts a new line, the cell's content width, whether its content
// overflows, and for each break inside a word (a word: what lies between
// '/', '?', '&', '-', '_' and spaces, where web/common.js's breakable()
// lets a name wrap) the word and its width in the cell's font.
export async function lineBreaks(page, selector) {
  return page.evaluate((sel) => {
    // Chromium's own rules also break after '?' and '-': a break next to
    // one of these, on either side, is not inside a word.
    const BOUNDS = '/?&-_ ';
    const bound = (c) => c !== undefined && BOUNDS.includes(c);
    const wrapAt = (t, i) => bound(t[i]) || bound(t[i - 1]);
    const ctx = document.createElement('canvas').getContext('2d');
    return Array.from(document.querySelectorAll(sel)).map((td) => {
      const tops = [];
      const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.data.length; i++) {
          const r = document.createRange();
          r.setStart(node, i);
          r.setEnd(node, i + 1);
          tops.push(r.getBoundingClientRect().top);
        }
      }
      const text = td.textContent;
      const breaks = [];
      for (let i = 1; i < tops.length; i++) {
        if (tops[i] > tops[i - 1] + 2) {
          breaks.push(i);
        }
      }
      const style = getComputedStyle(td);
      ctx.font = style.font;
      const width = td.clientWidth - parseFloat(style.paddingLeft) -
        parseFloat(style.paddingRight);
      const inWord = breaks.filter((i) => !wrapAt(text, i)).map((i) => {
        let a = i;
        let b = i;
        while (a > 0 && !bound(text[a - 1])) {
          a--;
        }
        while (b < text.length && !bound(text[b])) {
          b++;
        }
        const word = text.slice(a, b);
        return { at: i, word, px: ctx.measureText(word).width };
      });
      return {
        text, breaks, inWord, width,
        overflows: td.scrollWidth > td.clientWidth + 1,
      };
    });
  }, selector);
}

// Fail unless every cell (from lineBreaks) fits and breaks inside a word
// only where the word alone is wider than the cell.
export function checkWraps(cells) {
  for (const c of cells) {
    assert.equal(c.overflows, false, `${c.text} overflows its cell`);
    for (const w of c.inWord) {
      assert.ok(w.px > c.width, `"${c.text}" breaks inside "${w.word}" ` +
        `at ${w.at} (${w.px} px in a ${c.width} px column)`);
    }
  }
}
