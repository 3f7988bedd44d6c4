// tests/browser/lib.mjs - helpers for the browser tests: launch Debian's
// Chromium headless through playwright-core (from web/node_modules; never
// a downloaded browser) with a fresh profile, fail on console and page
// errors, keep pages off the network, read chart pixels and save
// screenshots.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
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
