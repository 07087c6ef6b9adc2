// The ledger explorer (web/, served at /) in a real headless Chromium:
// Debian's /usr/bin/chromium driven by playwright-core (ops/node), against
// the real binary with its embedded PostgreSQL (server.mjs). Registered with
// ctest as Browser.Explorer; screenshots go to $FUNDING_LEDGER_SCREENSHOTS.
//
// Environment: FUNDING_LEDGER_BINARY (the funding-ledger binary),
// FUNDING_LEDGER_NODE_MODULES (ops/node/node_modules), FUNDING_LEDGER_SCREENSHOTS
// (a directory), CHROMIUM (default /usr/bin/chromium). Exits 77 (skipped)
// when Chromium or playwright-core is not installed (`ops/dev deps`), except
// under CI (CI=true), where `ops/dev deps` installed both and their absence
// is a failure: a browser test that silently skips there would prove nothing.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { LedgerServer } from './server.mjs';

const binary = process.env.FUNDING_LEDGER_BINARY ?? 'build/funding-ledger';
const nodeModules = process.env.FUNDING_LEDGER_NODE_MODULES ?? 'ops/node/node_modules';
const shots = path.resolve(process.env.FUNDING_LEDGER_SCREENSHOTS ?? 'build/tests/browser/screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// How long a funding may take from its 201 to the number on the open page.
const kLiveBoundMs = 1000;

if (!existsSync(chromiumPath) || !existsSync(path.join(nodeModules, 'playwright-core'))) {
  const ci = (process.env.CI ?? '') !== '' && process.env.CI !== 'false';
  console.log(`${ci ? 'FAIL' : 'SKIP'}: needs ${chromiumPath} and ${nodeModules}/playwright-core (run ops/dev deps)`);
  process.exit(ci ? 1 : 77);
}
const { chromium } = createRequire(path.resolve(nodeModules, 'index.js'))('playwright-core');

const server = new LedgerServer(binary);
let browser;
let context;
let alice;
let bob;
const pageErrors = [];

const won = (n) => `${new Intl.NumberFormat('ko-KR').format(n)}원`;
const seoulToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(new Date());

async function createPost(fields) {
  const body = {
    title: fields.title,
    uploader: fields.uploader ?? 'Alice',
    description: fields.description ?? '',
    target_amount: fields.target_amount ?? 1_000_000,
    funding_unit: fields.funding_unit ?? 10_000,
    end_date: fields.end_date ?? '2030-12-31',
  };
  const r = await server.call('POST', '/api/posts', { token: alice, body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function fund(id, units = 1, token = bob) {
  const r = await server.call('POST', `/api/posts/${id}/fundings`, { token, body: { units } });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

// `allow`: console errors the case causes on purpose (a 404 it asks for).
async function openPage(hash = '', { allow = null } = {}) {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !(allow && allow.test(m.text()))) pageErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  await page.goto(`${server.url}/${hash}`);
  return page;
}

// `live`: wait until the board's stream is open too (updates from here on).
async function openBoard(hash = '#/', { live = true } = {}) {
  const page = await openPage(hash);
  await page.waitForSelector('#board[data-loaded="true"]');
  if (live) await page.waitForSelector('#live-state[data-state="live"]', { timeout: 5000 });
  return page;
}

async function shot(page, name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  await server.start();
  alice = server.token('alice');
  bob = server.token('bob');
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  context = await browser.newContext({ locale: 'ko-KR', timezoneId: 'Asia/Seoul', viewport: { width: 1200, height: 900 } });
});

after(async () => {
  await browser?.close();
  const code = await server.stop();
  assert.equal(code, 0, 'serve exits cleanly on SIGTERM');
});

test('the page and its files are served with their headers', async () => {
  const index = await fetch(`${server.url}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(index.headers.get('content-security-policy'), /^default-src 'self'; connect-src 'self';/);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  const js = await fetch(`${server.url}/ui/app.js`);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  const etag = js.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  await js.arrayBuffer();
  const again = await fetch(`${server.url}/ui/app.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal((await again.arrayBuffer()).byteLength, 0);
  const head = await fetch(`${server.url}/ui/style.css`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-type'), 'text/css; charset=utf-8');
  const missing = await fetch(`${server.url}/ui/missing.js`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('content-type'), 'application/problem+json');
});

test('the board loads and searches Korean titles', { timeout: 60_000 }, async () => {
  await createPost({ title: '내 취미 만들기', uploader: '앨리스' });
  await createPost({ title: '취미를 위한 목공 교실', uploader: '앨리스', target_amount: 500_000 });
  await createPost({ title: 'Coffee roaster', target_amount: 100_000 });
  const page = await openBoard('#/', { live: false });
  assert.equal(await page.locator('#board-rows tr').count(), 3);

  await page.fill('#search', '취미');
  await page.press('#search', 'Enter');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#board-rows tr')];
    return document.querySelector('#board[data-loaded="true"]') && rows.length === 2;
  });
  const titles = await page.locator('#board-rows a.post-link').allTextContents();
  assert.deepEqual(titles.sort(), ['내 취미 만들기', '취미를 위한 목공 교실']);
  assert.match(page.url(), /search=%EC%B7%A8%EB%AF%B8/);
  await page.close();
});

test('the board pages with its more button', { timeout: 60_000 }, async () => {
  const posts = Array.from({ length: 25 }, (_, i) => ({
    title: `페이지 넘김 ${String(i + 1).padStart(2, '0')}`, uploader: 'Alice', target_amount: 1000,
    funding_unit: 100, end_date: '2030-12-31',
  }));
  const r = await server.call('POST', '/api/posts', { token: alice, body: posts });
  assert.equal(r.status, 201, r.text);
  const page = await openBoard('#/?search=페이지 넘김&order_by=created', { live: false });
  assert.equal(await page.locator('#board-rows tr').count(), 20);
  await page.click('#board-more');
  await page.waitForFunction(() => document.querySelectorAll('#board-rows tr').length === 25);
  assert.ok(await page.locator('#board-more').isHidden());
  const titles = await page.locator('#board-rows a.post-link').allTextContents();
  assert.deepEqual(titles, posts.map((p) => p.title));
  await page.close();
});

test('a funding made through the API appears on the open board within a second', { timeout: 60_000 }, async () => {
  const post = await createPost({ title: '실시간 펀딩 확인', target_amount: 50_000 });
  await fund(post.id, 2);
  const page = await openBoard();
  const total = page.locator(`tr[data-post-id="${post.id}"] td.total`);
  assert.equal(await total.getAttribute('data-value'), '20000');

  const funded = await fund(post.id, 1);
  const at201 = Date.now();
  await page.waitForSelector(`tr[data-post-id="${post.id}"] td.total[data-value="30000"]`, {
    timeout: Math.max(1, kLiveBoundMs - (Date.now() - at201)),
  });
  console.log(`funding at position ${funded.position} shown ${Date.now() - at201} ms after its 201`);
  assert.equal(await total.textContent(), won(30_000));
  assert.equal(await page.locator(`tr[data-post-id="${post.id}"] .rate-text`).textContent(), '60%');
  await shot(page, 'board');
  await page.close();
});

test('a deleted post changes status on the open board', { timeout: 60_000 }, async () => {
  const post = await createPost({ title: '곧 지울 캠페인' });
  await fund(post.id, 1);
  const page = await openBoard();
  const row = page.locator(`tr[data-post-id="${post.id}"]`);
  assert.equal(await row.getAttribute('data-status'), 'funding');
  const r = await server.call('DELETE', `/api/posts/${post.id}`, { token: alice });
  assert.equal(r.status, 204, r.text);
  await page.waitForSelector(`tr[data-post-id="${post.id}"][data-status="deleted"]`, { timeout: 2000 });
  assert.equal(await row.locator('td.status').textContent(), '삭제됨');
  await page.close();
  // Its page says so, and still shows its history.
  const detail = await openPage(`#/posts/${post.id}`, { allow: /status of 404/ });
  await detail.waitForSelector('#post-deleted');
  assert.equal(await detail.locator('#post-title').textContent(), '곧 지울 캠페인');
  assert.deepEqual(await detail.locator('#history-rows tr').evaluateAll((rows) => rows.map((r) => r.dataset.type)),
    ['PostCreated', 'PostFunded', 'FundingRefunded', 'PostDeleted']);
  await detail.close();
});

test('the post page shows the detail and its history, live', { timeout: 60_000 }, async () => {
  const post = await createPost({ title: '동네 책방 살리기', uploader: '책방지기', description: '첫 줄\n둘째 줄',
    target_amount: 100_000, funding_unit: 5_000 });
  await fund(post.id, 2);
  const page = await openPage(`#/posts/${post.id}`);
  await page.waitForSelector('#post[data-loaded="true"]');
  await page.waitForSelector('#live-state[data-state="live"]', { timeout: 5000 });
  assert.equal(await page.locator('#post-title').textContent(), '동네 책방 살리기');
  assert.equal(await page.locator('#post-description').textContent(), '첫 줄\n둘째 줄');
  assert.equal(await page.locator('[data-field="total_funded"]').textContent(), won(10_000));
  assert.equal(await page.locator('[data-field="participant_count"]').textContent(), '1명');
  assert.equal(await page.locator('[data-field="target_amount"]').textContent(), won(100_000));
  assert.deepEqual(await page.locator('#history-rows tr').evaluateAll((rows) => rows.map((r) => r.dataset.type)),
    ['PostCreated', 'PostFunded']);

  const carol = server.token('carol');
  const funded = await fund(post.id, 3, carol);
  const at201 = Date.now();
  await page.waitForSelector(`#history-rows tr[data-position="${funded.position}"]`, { timeout: kLiveBoundMs });
  await page.waitForFunction((text) => document.querySelector('[data-field="total_funded"]')?.textContent === text,
    won(25_000), { timeout: Math.max(1, kLiveBoundMs - (Date.now() - at201)) });
  assert.equal(await page.locator('[data-field="participant_count"]').textContent(), '2명');
  assert.equal(await page.locator('#history-rows tr').count(), 3);
  await shot(page, 'post');
  await page.close();
});

test('the audit view turns green on an honest chain and red on a changed byte', { timeout: 60_000 }, async () => {
  // Everything the canonical encoder must get right: Hangul, quotes, a
  // backslash, tab and line feed, other control characters (\u00XX), DEL and
  // U+2028 as they are, and int64 values past 2^53.
  const r = await server.call('POST', '/api/posts', {
    token: alice,
    body: '{"title":"감사용 \\"따옴표\\" 캠페인","uploader":"감사인","description":"줄\\n탭\\t역슬래시\\\\ ' +
      '\\u0001\\u001f\\u007f\\u2028 끝","target_amount":9223372036854775807,' +
      '"funding_unit":3000000000000000000,"end_date":"2030-12-31"}',
  });
  assert.equal(r.status, 201, r.text);
  const id = /"id":(\d+)/.exec(r.text)[1];
  await fund(id, 1);
  await fund(id, 1, server.token('carol'));
  const events = (await server.call('GET', `/api/posts/${id}/events`)).body.items;

  const page = await openPage(`#/audit/${id}`);
  await page.waitForSelector('#audit-summary[data-state="ok"], #audit-summary[data-state="bad"]', { timeout: 15_000 });
  assert.equal(await page.locator('#audit-summary').getAttribute('data-state'), 'ok',
    await page.locator('#audit-summary').textContent());
  assert.equal(await page.locator('#post-chain-summary').getAttribute('data-state'), 'ok');
  assert.equal(await page.locator('#tail-summary').getAttribute('data-state'), 'ok');
  assert.equal(await page.locator('#post-chain tr[data-ok="true"]').count(), events.length);
  const head = (await server.call('GET', '/api/ledger/head')).body;
  assert.equal(await page.locator('#head-hash').textContent(), head.hash);
  await shot(page, 'audit');
  await page.close();

  // The same view over a history with one character changed in transit.
  const tampered = await openPage();
  await tampered.route(`**/api/posts/${id}/events**`, async (route) => {
    const response = await route.fetch();
    const text = (await response.text()).replace('감사용', '감사룡');
    await route.fulfill({ response, body: text });
  });
  await tampered.goto(`${server.url}/#/audit/${id}`);
  await tampered.waitForSelector('#audit-summary[data-state="bad"]', { timeout: 15_000 });
  assert.equal(await tampered.locator('#post-chain tr[data-ok="false"]').count(), 1);
  assert.equal(await tampered.locator('#tail-summary').getAttribute('data-state'), 'ok');
  await shot(tampered, 'audit-tampered');
  await tampered.close();
});

test('keyboard only: Tab reaches the search and a post link, Enter opens it', { timeout: 60_000 }, async () => {
  const page = await openBoard('#/', { live: false });
  const reach = async (predicate, what) => {
    for (let i = 0; i < 40; i += 1) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(predicate)) return;
    }
    assert.fail(`Tab never reached ${what}`);
  };
  await reach(() => document.activeElement?.id === 'search', 'the search box');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused element shows an outline');
  await reach(() => document.activeElement?.matches('a.post-link'), 'a post link');
  const href = await page.evaluate(() => document.activeElement.getAttribute('href'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#post[data-loaded="true"]');
  assert.ok(page.url().endsWith(href), `${page.url()} is ${href}`);
  await page.close();
});

test('without JavaScript the page is plain links to the API', async () => {
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const page = await plain.newPage();
  await page.goto(`${server.url}/`);
  for (const href of ['/api/posts', '/api/events', '/api/ledger/head', '/openapi.json']) {
    assert.ok(await page.locator(`noscript a[href="${href}"], main a[href="${href}"]`).first().isVisible(), href);
  }
  await plain.close();
});

// Last: it moves the server's clock past today's deadline in Seoul.
test('a post that reaches its deadline is settled on the open pages', { timeout: 60_000 }, async (t) => {
  if (!server.canMoveClock) {
    t.skip('libfaketime is not installed: cannot move the server clock past a deadline');
    return;
  }
  const post = await createPost({ title: '오늘 마감 캠페인', end_date: seoulToday(), target_amount: 20_000 });
  await fund(post.id, 2);
  const board = await openBoard();
  const detail = await openPage(`#/posts/${post.id}`);
  await detail.waitForSelector('#post[data-loaded="true"]');
  await detail.waitForSelector('#live-state[data-state="live"]', { timeout: 5000 });
  assert.equal(await board.locator(`tr[data-post-id="${post.id}"]`).getAttribute('data-status'), 'funding');

  const created = (await server.call('GET', `/api/posts/${post.id}/events`)).body.items[0];
  const closesAt = Date.parse(created.data.closes_at);
  server.setClockOffset((closesAt - Date.now()) / 1000 - 2);
  await board.waitForSelector(`tr[data-post-id="${post.id}"][data-status="successful"]`, { timeout: 10_000 });
  await detail.waitForSelector('#post[data-status="successful"]', { timeout: 5000 });
  await detail.waitForSelector('#history-rows tr[data-type="PostSettled"]', { timeout: 5000 });
  await shot(board, 'board-settled');
  await board.close();
  await detail.close();
  // PostSettled's canonical bytes too.
  const audit = await openPage(`#/audit/${post.id}`);
  await audit.waitForSelector('#audit-summary[data-state="ok"]', { timeout: 15_000 });
  assert.ok(await audit.locator('#post-chain tr[data-ok="true"]').count() >= 3);
  await audit.close();
});

test('no page logged an error (CSP violations included)', () => {
  assert.deepEqual(pageErrors, []);
});
