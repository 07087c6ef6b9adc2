// The audit view (#/audit, #/audit/{id}): re-checks the hash chain in the
// browser from the API's own output (canonical.js) and shows the ledger head.
//  - a post's events: each hashes to its `hash` from its `prev_hash` and
//    canonical bytes, and where two of them are neighbours in the log the
//    later names the earlier's hash;
//  - the ledger's last N events: each hashes right, each links to the one
//    before, and the last one is the head.
// A summary turns green (data-state="ok") only when every check passed.

import { getJson, query } from './api.js';
import { checkChain, checkEvent, digestEngine, kGenesisHash } from './canonical.js';
import { errorBox, h } from './dom.js';
import { formatInt, shortHash } from './format.js';

const kPostEventsPage = 1000;  // the API's largest page
const kPostEventsMax = 20000;  // more than this is left to `funding-ledger verify`
const kTailDefault = 100;
const kTailMax = 1000;

function summary(id, label) {
  return h('p', { id, class: 'summary', 'data-state': 'running', role: 'status' }, `${label}: 확인 중…`);
}

function setSummary(el, ok, text) {
  el.dataset.state = ok ? 'ok' : 'bad';
  el.textContent = `${ok ? '✓' : '✗'} ${text}`;
}

function resultRow(e, r) {
  return h('tr', { dataset: { position: String(e.position), ok: String(r.ok) }, class: r.ok ? 'ok' : 'bad' },
    h('td', { class: 'mark' }, h('span', { role: 'img', 'aria-label': r.ok ? '일치' : '불일치' }, r.ok ? '✓' : '✗')),
    h('td', { class: 'num' }, String(e.position)),
    h('td', { class: 'num' }, String(e.stream_version)),
    h('td', {}, h('code', {}, String(e.type))),
    h('td', {}, h('code', { title: String(e.hash) }, shortHash(e.hash))),
    h('td', {},
      r.ok ? '' : h('span', { class: 'problem' }, r.problem),
      r.canonical
        ? h('details', {}, h('summary', {}, '정규 바이트'), h('pre', { class: 'canonical' }, r.canonical))
        : ''));
}

function resultTable(id, caption, rows) {
  return h('table', { id, class: 'audit' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ['', '위치', '버전', '유형', '해시', '비고'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows));
}

async function fetchPostEvents(id, signal) {
  const events = [];
  let after = 0;
  for (;;) {
    const page = await getJson(`/api/posts/${id}/events${query({ after, limit: kPostEventsPage })}`,
      { lossless: true, signal });
    events.push(...page.items);
    if (page.items.length < kPostEventsPage || page.next_after === null) return { events, complete: true };
    if (events.length >= kPostEventsMax) return { events, complete: false };
    after = page.next_after.raw;
  }
}

async function checkPost(section, id, signal) {
  const status = summary('post-chain-summary', `캠페인 #${id}의 해시 체인`);
  section.replaceChildren(h('h3', {}, `캠페인 #${id}의 이벤트`), status);
  const { events, complete } = await fetchPostEvents(id, signal);
  const results = [];
  for (let i = 0; i < events.length; i += 1) {
    const e = events[i];
    const r = await checkEvent(e);
    const prev = events[i - 1];
    if (r.ok && prev && e.position.toBigInt() === prev.position.toBigInt() + 1n && e.prev_hash !== prev.hash) {
      r.ok = false;
      r.problem = 'prev_hash는 바로 앞 이벤트의 해시가 아닙니다';
    }
    results.push(r);
  }
  const bad = results.filter((r) => !r.ok).length;
  section.append(resultTable('post-chain', `캠페인 #${id}의 이벤트와 검사 결과`,
    events.map((e, i) => resultRow(e, results[i]))));
  const scope = complete ? '' : ` (처음 ${formatInt(events.length)}개만)`;
  if (events.length === 0) setSummary(status, false, '이벤트가 없습니다');
  else if (bad === 0) setSummary(status, true, `이벤트 ${formatInt(events.length)}개의 해시가 모두 맞습니다${scope}`);
  else setSummary(status, false, `이벤트 ${formatInt(events.length)}개 중 ${formatInt(bad)}개가 맞지 않습니다${scope}`);
  return bad === 0 && events.length > 0;
}

async function checkTail(section, head, n, signal) {
  const status = summary('tail-summary', '원장 끝부분의 연결');
  const headPosition = BigInt(head.position.raw);
  const after = headPosition > BigInt(n) ? headPosition - BigInt(n) : 0n;
  section.replaceChildren(h('h3', {}, `원장의 마지막 이벤트 ${formatInt(n)}개`), status);
  if (headPosition === 0n) {
    const ok = head.hash === kGenesisHash;
    setSummary(status, ok, ok ? '빈 원장입니다' : '빈 원장의 헤드 해시가 0이 아닙니다');
    return ok;
  }
  const page = await getJson(`/api/events${query({ after: after.toString(), limit: n })}`, { lossless: true, signal });
  const events = page.items.filter((e) => e.position.toBigInt() <= headPosition);
  const chain = await checkChain(events, after === 0n ? { firstPrevHash: kGenesisHash } : {});
  let ok = chain.ok;
  let text = `이벤트 ${formatInt(events.length)}개가 헤드까지 이어집니다`;
  const last = events[events.length - 1];
  if (!ok) {
    text = chain.problem;
  } else if (!last || last.position.toBigInt() !== headPosition || last.hash !== head.hash) {
    ok = false;
    text = '마지막 이벤트가 원장 헤드와 다릅니다';
  }
  section.append(resultTable('tail-chain', '원장 끝부분의 이벤트와 검사 결과',
    events.map((e, i) => resultRow(e, chain.results[i]))));
  setSummary(status, ok, text);
  return ok;
}

export function renderAudit(root, id, params) {
  const abort = new AbortController();
  const tail = Math.min(Math.max(Number(params.get('tail')) || kTailDefault, 1), kTailMax);
  const overall = summary('audit-summary', '감사 결과');
  const headBox = h('dl', { id: 'ledger-head', class: 'figures' });
  const postSection = h('section', { id: 'post-audit' });
  const tailSection = h('section', { id: 'tail-audit' });
  const errors = h('div', { id: 'audit-error' });
  root.replaceChildren(h('section', { 'aria-labelledby': 'audit-title' },
    h('h2', { id: 'audit-title' }, id === null ? '원장 감사' : `캠페인 #${id} 감사`),
    h('p', { class: 'note' },
      '이 브라우저가 API가 보낸 이벤트에서 정규 바이트를 다시 만들고 SHA-256 해시 체인을 다시 계산합니다 ',
      `(${digestEngine()}). `,
      id === null ? '' : h('a', { href: `#/posts/${id}` }, '캠페인으로 돌아가기')),
    overall,
    errors,
    h('section', { 'aria-labelledby': 'head-title' }, h('h3', { id: 'head-title' }, '원장 헤드'), headBox),
    postSection,
    tailSection));

  const run = async () => {
    const head = await getJson('/api/ledger/head', { lossless: true, signal: abort.signal });
    headBox.replaceChildren(
      h('dt', {}, '위치'), h('dd', { id: 'head-position' }, formatInt(head.position)),
      h('dt', {}, '해시'), h('dd', {}, h('code', { id: 'head-hash', class: 'hash' }, head.hash)));
    const postOk = id === null ? true : await checkPost(postSection, id, abort.signal);
    const tailOk = await checkTail(tailSection, head, tail, abort.signal);
    const ok = postOk && tailOk;
    setSummary(overall, ok, ok ? '해시 체인이 정직합니다' : '해시 체인이 맞지 않습니다');
  };
  run().catch((e) => {
    if (e.name === 'AbortError') return;
    errors.replaceChildren(errorBox(e));
    setSummary(overall, false, '감사를 마치지 못했습니다');
  });
  return () => abort.abort();
}
