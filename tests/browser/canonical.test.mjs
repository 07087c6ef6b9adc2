// The explorer's hash-chain check (web/json.js, web/canonical.js,
// web/sha256.js) in Node, without a browser: the canonical bytes must equal
// what src/common/json_writer.cc writes, byte for byte, or the audit view
// would call an honest ledger broken. Checked against envelopes the service
// wrote (kept below, with their hashes) and against a running server
// (server.mjs). Registered with ctest as Browser.CanonicalEncoder.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { canonicalJson, checkChain, checkEvent, encodeString, kGenesisHash } from '../../web/canonical.js';
import { JsonNumber, parseJson } from '../../web/json.js';
import { sha256 } from '../../web/sha256.js';
import { LedgerServer } from './server.mjs';

// Two envelopes as GET /api/events served them: Hangul, a quote, a
// backslash, \n and \t, \u0001 and \u001F, a raw DEL and U+2028 (written as
// they are), and int64 values past 2^53.
const kCreated = String.raw`{"position":1,"stream":"post-1","stream_version":1,"type":"PostCreated","schema_version":2,"recorded_at":"2026-12-06T02:53:14.167414Z","actor":"alice","correlation_id":"b886799275ab40f7","idempotency_key":null,"data":{"title":"내 취미 만들기","uploader":"앨리스","owner":"alice","description":"취미 키트\n\t\"인용\" \\ 역슬래시 \u0001\u001F${'\x7f'} ${'\u2028'} 끝","target_amount":9223372036854775807,"funding_unit":4611686018427387904,"end_date":"2030-12-31","closes_at":"2030-12-31T15:00:00.000000Z","funding_model":"keep_it_all","max_fundings_per_backer":null},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":"4ff9696fe3c5d398547608528955a8ab6582f014bae05363d4e106fd6229f5ed"}`;
const kFunded = String.raw`{"position":3,"stream":"post-1","stream_version":2,"type":"PostFunded","schema_version":2,"recorded_at":"2026-12-06T02:53:14.178338Z","actor":"bob","correlation_id":"008f9f622ae812e8","idempotency_key":null,"data":{"backer":"bob","units":1,"amount":4611686018427387904},"prev_hash":"33094a9079fe9165fb88e00f7780342a23d7a30e8738748300ea8b5e46b93014","hash":"39cc9828ad6582d0b4784367a0fbfb5d9931a7f2868d22697389d36f5a1bc6ab"}`;

// The envelope text without prev_hash and hash: the canonical bytes.
const canonicalOf = (text) => text.replace(/,"prev_hash":"[0-9a-f]{64}","hash":"[0-9a-f]{64}"\}$/, '}');

test('sha256.js agrees with node:crypto', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 4097]) {
    const bytes = randomBytes(n);
    assert.equal(Buffer.from(sha256(new Uint8Array(bytes))).toString('hex'),
      createHash('sha256').update(bytes).digest('hex'), `${n} bytes`);
  }
});

test('strings are escaped exactly as json_writer.cc escapes them', () => {
  const expected = (c) => ({ 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' })[c] ??
    `\\u00${c.toString(16).toUpperCase().padStart(2, '0')}`;
  for (let c = 0; c < 0x20; c += 1) {
    assert.equal(encodeString(String.fromCharCode(c)), `"${expected(c)}"`, `code ${c}`);
  }
  assert.equal(encodeString('"\\'), '"\\"\\\\"');
  assert.equal(encodeString('/\x7f\u2028\u00e9한글😀'), '"/\x7f\u2028\u00e9한글😀"');
});

test('integers keep every digit', () => {
  const lossless = parseJson('{"a":9223372036854775807,"b":-9223372036854775808,"c":0}', { lossless: true });
  assert.ok(lossless.a instanceof JsonNumber);
  assert.equal(lossless.a.raw, '9223372036854775807');
  const plain = parseJson('{"a":9223372036854775807,"b":9007199254740991,"c":1.5}');
  assert.equal(plain.a, 9223372036854775807n);
  assert.equal(plain.b, 9007199254740991);
  assert.equal(plain.c, 1.5);
  assert.throws(() => parseJson('{"a":1,"a":2}'), SyntaxError);
  assert.throws(() => parseJson('[1,]'), SyntaxError);
  assert.throws(() => parseJson('"\u0001"'), SyntaxError);
  assert.throws(() => parseJson('{} x'), SyntaxError);
});

test('the canonical bytes of stored envelopes are the bytes the service hashed', async () => {
  for (const text of [kCreated, kFunded]) {
    const envelope = parseJson(text, { lossless: true });
    assert.equal(canonicalJson(envelope), canonicalOf(text));
    const r = await checkEvent(envelope);
    assert.ok(r.ok, r.problem);
    assert.equal(r.computed, envelope.hash);
  }
  const created = parseJson(kCreated, { lossless: true });
  assert.equal(created.prev_hash, kGenesisHash);
});

test('a changed value breaks the hash', async () => {
  const changes = [
    ['9223372036854775807', '9223372036854775806'],  // the last digit of an int64
    ['역슬래시', '역슬레시'],
    ['"units":1', '"units":2'],
    ['"actor":"bob"', '"actor":"bo"'],
  ];
  for (const [from, to] of changes) {
    const text = [kCreated, kFunded].find((t) => t.includes(from));
    const r = await checkEvent(parseJson(text.replace(from, to), { lossless: true }));
    assert.equal(r.ok, false, `${from} → ${to}`);
  }
  // The same string escaped otherwise is the same event: parsed, it re-encodes
  // to the canonical spelling and still matches.
  const respelled = kCreated.replace('\\u001F', '\\u001f');
  assert.notEqual(respelled, kCreated);
  assert.ok((await checkEvent(parseJson(respelled, { lossless: true }))).ok);
  const unknown = parseJson(kFunded.replace('"units":1', '"units":1,"bonus":1'), { lossless: true });
  assert.match((await checkEvent(unknown)).problem, /unknown member bonus/);
  // Parsed without `lossless`, an int64 past 2^53 is a BigInt and stays exact.
  assert.ok((await checkEvent(parseJson(kFunded))).ok);
});

const server = new LedgerServer(process.env.FUNDING_LEDGER_BINARY ?? 'build/funding-ledger');
before(async () => {
  await server.start();
});
after(async () => {
  assert.equal(await server.stop(), 0, 'serve exits cleanly on SIGTERM');
});

test('a live ledger re-checks from genesis to its head', async () => {
  const alice = server.token('alice');
  const bob = server.token('bob');
  // Escapes the canonical encoder must reproduce; `extra` goes into the description.
  const body = (extra) =>
    '{"title":"정규 바이트 \\"검사\\"","uploader":"감사인","description":"\\b\\f\\r' + extra +
    '\\u0002\\u007f\\u2029 \\\\ 😀","target_amount":9007199254740993,"funding_unit":9007199254740993,' +
    '"end_date":"2030-01-31"}';
  const create = await server.call('POST', '/api/posts', { token: alice, body: body('\\u0000x') });
  // NUL is refused in a description (PostgreSQL cannot store it).
  assert.equal(create.status, 422, create.text);
  const ok = await server.call('POST', '/api/posts', { token: alice, body: body('') });
  assert.equal(ok.status, 201, ok.text);
  const id = /"id":(\d+)/.exec(ok.text)[1];
  // Every optional member of PostEdited, max_fundings_per_backer as null.
  const terms = { end_date: '2030-02-01', funding_model: 'all_or_nothing', max_fundings_per_backer: null };
  assert.equal((await server.call('PATCH', `/api/posts/${id}`, { token: alice, body: terms })).status, 200);
  const fund = () => server.call('POST', `/api/posts/${id}/fundings`, { token: bob, body: { units: 1 } });
  assert.equal((await fund()).status, 201);
  const second = await fund();
  assert.equal(second.status, 201);
  const cancel = await server.call('DELETE', `/api/posts/${id}/fundings/${second.body.position}`, { token: bob });
  assert.equal(cancel.status, 204, cancel.text);
  assert.equal((await server.call('PATCH', `/api/posts/${id}`, { token: alice, body: { title: '바뀐 제목\t' } })).status, 200);
  assert.equal((await server.call('DELETE', `/api/posts/${id}`, { token: alice })).status, 204);

  const feed = await server.call('GET', '/api/events?after=0&limit=1000');
  const envelopes = parseJson(feed.text, { lossless: true }).items;
  assert.deepEqual(envelopes.map((e) => e.type), ['PostCreated', 'PostEdited', 'PostFunded', 'PostFunded',
    'FundingCancelled', 'PostEdited', 'FundingRefunded', 'PostDeleted']);
  for (const e of envelopes) {
    // Byte for byte: the canonical text plus prev_hash and hash is the item as served.
    const served = `${canonicalJson(e).slice(0, -1)},"prev_hash":"${e.prev_hash}","hash":"${e.hash}"}`;
    assert.ok(feed.text.includes(served), served);
  }
  const chain = await checkChain(envelopes, { firstPrevHash: kGenesisHash });
  assert.ok(chain.ok, chain.problem);
  const head = (await server.call('GET', '/api/ledger/head')).body;
  assert.equal(envelopes.at(-1).hash, head.hash);
  // A history with one event left out no longer links.
  const gap = await checkChain([envelopes[0], ...envelopes.slice(2)], { firstPrevHash: kGenesisHash });
  assert.equal(gap.ok, false);
  assert.match(gap.problem, /position 3/);
});
