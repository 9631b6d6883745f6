#!/usr/bin/env node
// Checks the built twin (dist/) end to end in headless Chromium: the posts list and "Load more",
// a post, not found, sign-in (the /sign-in page and Clerk's modal), creating and deleting a post,
// and the mutation benchmark page. Exits non-zero if anything fails.
//
//   node check.mjs [dist-dir]
//
// The twin talks to the Convex URL it was built with (default http://127.0.0.1:3210): a
// devserver there is used as it is; if none answers, one is started with a fresh data dir
// ($DEVSERVER, default $CARGO_TARGET_DIR/release/devserver) and stopped at the end. Posts are
// added (as a test user) until there are more than one page of them. The page is served by
// serve.mjs on a free port. Chromium: $CHROMIUM, default /usr/bin/chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const DIST = path.resolve(process.argv[2] ?? path.join(HERE, 'dist'));
const BACKEND = process.env.VITE_CONVEX_URL || 'http://127.0.0.1:3210';
const TARGET_DIR = process.env.CARGO_TARGET_DIR || path.join(homedir(), '.cache/yew-convex/target');
const DEVSERVER = process.env.DEVSERVER || path.join(TARGET_DIR, 'release/devserver');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PAGE_SIZE = 30;
const SEEDED = PAGE_SIZE + 5;
const TIMEOUT = 15_000;

const started = [];
const cleanups = [];

// --- the devserver and the static server -----------------------------------------------------

async function answers(url) {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

async function waitFor(what, test, ms = TIMEOUT) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function start(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  child.output = () => output;
  return child;
}

async function ensureDevserver() {
  if (await answers(BACKEND)) return;
  const { port } = new URL(BACKEND);
  const data = mkdtempSync(path.join(tmpdir(), 'twin-check-'));
  cleanups.push(() => rmSync(data, { recursive: true, force: true }));
  const assets = path.join(REPO, 'static/vendor/npm');
  const child = start(DEVSERVER, ['--port', port, '--data', data, '--clerk-assets', assets]);
  child.on('error', () => {});
  await waitFor(`the devserver (${DEVSERVER})`, () => answers(BACKEND)).catch((e) => {
    throw new Error(`${e.message}\n${child.output()}`);
  });
}

async function call(kind, fn, args, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${BACKEND}/api/${kind}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ path: fn, args, format: 'json' }),
  });
  const body = await res.json();
  if (body.status !== 'success') throw new Error(`${fn}: ${body.errorMessage}`);
  return body.value;
}

/** More than one page of posts, written by a test user. */
async function seedPosts() {
  try {
    await call('query', 'posts:listPaginated', { paginationOpts: { numItems: 1, cursor: null } });
  } catch (e) {
    throw new Error(`the devserver at ${BACKEND} has no posts:listPaginated (too old?): ${e.message}`);
  }
  const have = (await call('query', 'posts:list', {})).length;
  if (have >= SEEDED) return;
  const res = await fetch(`${BACKEND}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'twin-check', name: 'Twin Check', ttl_secs: 600 }),
  });
  const { token } = await res.json();
  for (let i = have + 1; i <= SEEDED; i++) {
    const args = { title: `Seeded post ${i}`, body: `Body of seeded post ${i}.\nA second line.` };
    await call('mutation', 'posts:create', args, token);
  }
}

async function serve() {
  const child = start(process.execPath, [path.join(HERE, 'serve.mjs'), DIST, '0', BACKEND]);
  let origin;
  await waitFor('serve.mjs', () => {
    origin = child.output().match(/on (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    return Boolean(origin);
  });
  return origin;
}

// --- the checks ------------------------------------------------------------------------------

const results = [];
async function check(name, run) {
  const t0 = Date.now();
  try {
    const note = await run();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)${note ? `: ${note}` : ''}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.message.split('\n').slice(0, 6).join('\n     ')}`);
  }
}

function expect(what, actual, expected) {
  if (actual !== expected) throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

async function newPage(browser, errors) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}

async function main() {
  await ensureDevserver();
  await seedPosts();
  const origin = await serve();
  const url = (p) => origin + p;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  cleanups.unshift(() => browser.close());
  const errors = [];
  const page = await newPage(browser, errors);
  let postPath;

  await check('/posts lists the first page', async () => {
    await page.goto(url('/posts'));
    await page.waitForSelector('.post-card');
    expect('posts shown', await page.locator('.post-card').count(), PAGE_SIZE);
    expect('title', await page.title(), 'Posts | yew-convex');
    await page.waitForSelector('.connection.online');
    await page.waitForSelector('button.load-more:has-text("Load more")');
  });

  await check('"Load more" loads the next page', async () => {
    const total = (await call('query', 'posts:list', {})).length;
    await page.click('button.load-more');
    await page.waitForFunction((n) => document.querySelectorAll('.post-card').length === n, Math.min(total, 2 * PAGE_SIZE));
    if (total <= 2 * PAGE_SIZE) await page.waitForSelector(`.list-footer p:has-text("All ${total} posts")`);
    return `${await page.locator('.post-card').count()} of ${total}`;
  });

  await check('a post page loads (and summarizes)', async () => {
    const link = page.locator('.post-link').first();
    const title = await link.locator('.post-title').innerText();
    await link.click();
    await page.waitForURL(/\/posts\/[0-9a-z]+$/);
    postPath = new URL(page.url()).pathname;
    expect('heading', await page.locator('article.post h1').innerText(), title);
    expect('title', await page.title(), `${title} | yew-convex`);
    await page.click('button:has-text("Summarize")');
    await page.waitForSelector('article.post .summary');
  });

  await check('a post loads on its own (reload)', async () => {
    await page.goto(url(postPath));
    await page.waitForSelector('article.post h1');
  });

  await check('/posts/nope is not found', async () => {
    await page.goto(url('/posts/nope'));
    await page.waitForSelector('.boundary.not-found h2:has-text("Not found")');
    // An id of the right shape that names no post.
    await page.goto(url('/posts/' + 'a'.repeat(32)));
    await page.waitForSelector('.boundary.not-found');
    await page.goto(url('/no/such/page'));
    await page.waitForSelector('.boundary.not-found');
    expect('title', await page.title(), 'Not found | yew-convex');
  });

  let created;
  await check('/posts/new sends a signed-out reader to /sign-in', async () => {
    await page.goto(url('/posts/new'));
    await page.waitForURL(/\/sign-in\?redirect=%2Fposts%2Fnew$/);
    await page.waitForSelector('form.yc-sign-in-form');
    expect('title', await page.title(), 'Sign in | yew-convex');
  });

  await check('a wrong password is refused', async () => {
    await page.fill('input[name=identifier]', 'alice');
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('form.yc-sign-in-form button[type=submit]');
    await page.waitForSelector('form.yc-sign-in-form .yc-error');
  });

  await check('signing in as alice on /sign-in goes back to /posts/new', async () => {
    await page.fill('input[name=password]', 'alice-password');
    await page.click('form.yc-sign-in-form button[type=submit]');
    await page.waitForURL(/\/posts\/new$/);
    await page.waitForSelector('form.form input[name=title]');
    await page.waitForSelector('.auth-slot .cl-userButtonTrigger');
  });

  await check('/posts/new creates a post', async () => {
    const title = `Twin check ${Date.now()}`;
    await page.fill('input[name=title]', title);
    await page.fill('textarea[name=body]', 'First line\nSecond line');
    await page.click('form.form button[type=submit]');
    await page.waitForURL(/\/posts\/[0-9a-z]+$/);
    expect('heading', await page.locator('article.post h1').innerText(), title);
    expect('body lines', await page.locator('.post-body p').count(), 2);
    await page.waitForSelector('button.danger:has-text("Delete")');
    created = { title, path: new URL(page.url()).pathname };
  });

  await check('the new post heads the list, and Delete removes it', async () => {
    await page.click('a.back');
    await page.waitForURL(/\/posts$/);
    await page.waitForSelector('.post-card');
    expect('first post', await page.locator('.post-title').first().innerText(), created.title);
    await page.goto(url(created.path));
    await page.click('button.danger');
    await page.waitForURL(/\/posts$/);
    await page.waitForFunction((t) => ![...document.querySelectorAll('.post-title')].some((e) => e.textContent === t), created.title);
  });

  await check('Home greets the signed-in user', async () => {
    await page.goto(url('/'));
    await page.waitForSelector('.hero h1:has-text("Welcome back, ")');
    expect('title', await page.title(), 'yew-convex');
  });

  await check("signing in through Clerk's modal", async () => {
    const fresh = await newPage(browser, errors);
    try {
      await fresh.goto(url('/posts'));
      await fresh.click('.auth-slot button:has-text("Sign in")');
      await fresh.fill('.cl-modalContent input[name=identifier]', 'alice');
      await fresh.click('.cl-modalContent .cl-formButtonPrimary');
      await fresh.fill('.cl-modalContent input[name=password]', 'alice-password');
      await fresh.click('.cl-modalContent .cl-formButtonPrimary');
      await fresh.waitForSelector('.auth-slot .cl-userButtonTrigger');
      await fresh.goto(url('/posts/new'));
      await fresh.waitForSelector('form.form input[name=title]');
    } finally {
      await fresh.context().close();
    }
  });

  await check('mutation.html: 100 items follow __benchMutate', async () => {
    const bench = await newPage(browser, errors);
    try {
      await bench.goto(url('/mutation.html'));
      await bench.waitForFunction(() => window.__benchReady === true);
      expect('items with data', await bench.locator('li.bench-item[data-count]').count(), 100);
      const times = [];
      for (let i = 0; i < 3; i++) {
        const key = `twin-check-${Date.now()}-${i}`;
        times.push(
          await bench.evaluate(
            (key) =>
              new Promise((resolve, reject) => {
                const selector = `li[data-last="${CSS.escape(key)}"]`;
                const t0 = performance.now();
                const observer = new MutationObserver(() => {
                  if (document.querySelectorAll(selector).length === 100) {
                    observer.disconnect();
                    resolve(performance.now() - t0);
                  }
                });
                observer.observe(document.body, { subtree: true, childList: true, attributes: true });
                window.__benchMutate(key).catch(reject);
                setTimeout(() => reject(new Error(`not all 100 items show ${key}`)), 10_000);
              }),
            key,
          ),
        );
      }
      return `update seen by all 100 in ${times.map((t) => t.toFixed(1)).join(', ')} ms`;
    } finally {
      await bench.context().close();
    }
  });

  await check('no uncaught errors in the pages', async () => {
    if (errors.length) throw new Error(errors.join('\n'));
  });
}

let failed = false;
try {
  await main();
} catch (e) {
  console.log(`FAIL setup: ${e.message}`);
  failed = true;
} finally {
  for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => {});
  for (const child of started) child.kill();
}
const passed = results.filter((r) => r.ok).length;
const failures = results.length - passed + (failed ? 1 : 0);
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
