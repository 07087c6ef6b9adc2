// The campaign board (#/): GET /api/posts with search, order and status,
// paged by cursor, and totals that move live: one stream of the whole ledger,
// and for each event of a post on screen a re-read of that post that waits
// (X-Min-Position) until the read tables include the event.

import { ApiError, getJson, query } from './api.js';
import { errorBox, h } from './dom.js';
import { formatDday, formatInt, formatWon, statusLabel } from './format.js';
import { openStream, postIdOfStream } from './live.js';

const kPageSize = 20;
// Events of one post closer together than this cause one re-read.
const kRefreshDebounceMs = 80;
// A re-read whose position the read tables have not reached in time (503
// position_not_reached) is tried again this many times.
const kRefreshRetries = 3;

const kOrders = [
  ['-total_funded', '총 펀딩 금액 많은 순'],
  ['total_funded', '총 펀딩 금액 적은 순'],
  ['-created', '최신 순'],
  ['created', '오래된 순'],
  ['end_date', '마감 임박 순'],
  ['-end_date', '마감 늦은 순'],
];
const kStatuses = [
  ['', '전체'],
  ['funding', '펀딩 중'],
  ['successful', '성공'],
  ['failed', '실패'],
];

function select(id, name, options, value) {
  return h(
    'select',
    { id, name },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
  );
}

function progress(rate) {
  const n = Number(rate);
  return h(
    'span',
    { class: n > 100 ? 'rate over' : 'rate' },
    h('progress', { max: 100, value: Math.max(0, Math.min(n, 100)), 'aria-label': `달성률 ${n}%` }),
    h('span', { class: 'rate-text' }, `${formatInt(rate)}%`),
  );
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, statusLabel(status));
}

function rowCells(post) {
  return [
    h('td', { class: 'title' }, h('a', { href: `#/posts/${post.id}`, class: 'post-link' }, post.title)),
    h('td', { class: 'uploader' }, post.uploader),
    h('td', { class: 'num total', dataset: { value: String(post.total_funded) } }, formatWon(post.total_funded)),
    h('td', { class: 'progress' }, progress(post.achievement_rate)),
    h('td', { class: 'num dday' }, formatDday(post.d_day)),
    h('td', { class: 'status' }, statusBadge(post.status)),
  ];
}

function renderRow(post) {
  return h('tr', { dataset: { postId: String(post.id), status: post.status } }, rowCells(post));
}

function updateRow(row, post) {
  row.replaceChildren(...rowCells(post));
  row.dataset.status = post.status;
  row.classList.remove('flash');
  // Restart the highlight animation (a class toggle needs a reflow between).
  void row.offsetWidth;
  row.classList.add('flash');
}

function markDeleted(row) {
  row.dataset.status = 'deleted';
  row.classList.add('deleted');
  row.querySelector('td.status').replaceChildren(statusBadge('deleted'));
}

export function renderBoard(root, params) {
  const search = params.get('search') ?? '';
  const orderBy = params.get('order_by') || '-total_funded';
  const status = params.get('status') ?? '';

  const rows = h('tbody', { id: 'board-rows', 'aria-live': 'polite' });
  const errors = h('div', { id: 'board-error' });
  const empty = h('p', { id: 'board-empty', hidden: true }, '조건에 맞는 캠페인이 없습니다.');
  const more = h('button', { id: 'board-more', type: 'button', hidden: true }, '더 보기');
  const form = h(
    'form',
    { id: 'board-form', role: 'search', class: 'filters' },
    h('div', { class: 'field' }, h('label', { for: 'search' }, '제목 검색'),
      h('input', { id: 'search', name: 'search', type: 'search', maxlength: 100, value: search, placeholder: '예: 취미' })),
    h('div', { class: 'field' }, h('label', { for: 'order_by' }, '정렬'), select('order_by', 'order_by', kOrders, orderBy)),
    h('div', { class: 'field' }, h('label', { for: 'status' }, '상태'), select('status', 'status', kStatuses, status)),
    h('button', { type: 'submit' }, '검색'),
  );
  root.replaceChildren(
    h('section', { 'aria-labelledby': 'board-title' },
      h('h2', { id: 'board-title' }, '캠페인'),
      form,
      errors,
      h('table', { id: 'board', class: 'board' },
        h('caption', { class: 'visually-hidden' }, '캠페인 목록: 제목, 올린 사람, 총 펀딩 금액, 달성률, 남은 날, 상태'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, '제목'),
          h('th', { scope: 'col' }, '올린 사람'),
          h('th', { scope: 'col', class: 'num' }, '총 펀딩 금액'),
          h('th', { scope: 'col' }, '달성률'),
          h('th', { scope: 'col', class: 'num' }, '남은 날'),
          h('th', { scope: 'col' }, '상태'))),
        rows),
      empty,
      more));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const target = `#/${query({
      search: String(data.get('search')).trim(),
      order_by: data.get('order_by') === '-total_funded' ? '' : data.get('order_by'),
      status: data.get('status'),
    })}`;
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  });

  const abort = new AbortController();
  let cursor = null;

  // The first page is read at least as of `since`, the position the stream
  // starts after: no event falls between the two.
  let since = 0;
  const loadPage = async () => {
    more.disabled = true;
    try {
      const page = await getJson(
        `/api/posts${query({ search, order_by: orderBy, status, limit: kPageSize, cursor })}`,
        { signal: abort.signal, headers: cursor === null ? { 'X-Min-Position': String(since) } : {} },
      );
      for (const post of page.items) {
        if (!rows.querySelector(`tr[data-post-id="${post.id}"]`)) rows.append(renderRow(post));
      }
      cursor = page.next_cursor;
      more.hidden = cursor === null;
      empty.hidden = rows.children.length > 0;
      root.querySelector('#board').dataset.loaded = 'true';
    } catch (e) {
      if (e.name !== 'AbortError') errors.replaceChildren(errorBox(e));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', loadPage);

  // Live totals: per post on screen, the highest position seen and a timer.
  const pending = new Map();
  const refresh = async (id, position, attempt = 0) => {
    const row = rows.querySelector(`tr[data-post-id="${id}"]`);
    // A deleted post has nothing to read (it would be a 404).
    if (!row || row.dataset.status === 'deleted') return;
    try {
      const post = await getJson(`/api/posts/${id}`, {
        headers: { 'X-Min-Position': String(position) },
        signal: abort.signal,
      });
      if (Number(row.dataset.position ?? 0) > position) return;  // a later read won
      row.dataset.position = String(position);
      updateRow(row, post);
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e instanceof ApiError && e.status === 404) {
        markDeleted(row);
      } else if (e instanceof ApiError && e.status === 503 && attempt < kRefreshRetries) {
        setTimeout(() => refresh(id, position, attempt + 1), 500);
      } else {
        errors.replaceChildren(errorBox(e));
      }
    }
  };
  const onLedger = (event) => {
    const id = postIdOfStream(event.stream);
    if (id === null) return;
    const row = rows.querySelector(`tr[data-post-id="${id}"]`);
    if (!row) return;
    if (event.type === 'PostDeleted') {
      // A delete's refunds come in the same batch just before it: their
      // refresh, not sent yet, is dropped rather than read as a 404.
      const waiting = pending.get(id);
      if (waiting) clearTimeout(waiting.timer);
      pending.delete(id);
      markDeleted(row);
      return;
    }
    const position = Number(event.position);
    const entry = pending.get(id) ?? { position: 0, timer: null };
    entry.position = Math.max(entry.position, position);
    if (entry.timer === null) {
      entry.timer = setTimeout(() => {
        pending.delete(id);
        refresh(id, entry.position);
      }, kRefreshDebounceMs);
    }
    pending.set(id, entry);
  };
  let closeStream = () => {};
  const start = async () => {
    try {
      since = Number((await getJson('/api/ledger/head', { signal: abort.signal })).position);
    } catch (e) {
      if (e.name === 'AbortError') return;
      errors.replaceChildren(errorBox(e));  // the list may still work
    }
    if (abort.signal.aborted) return;
    closeStream = openStream(`/api/events/stream?after=${since}`, { ledger: onLedger });
    await loadPage();
  };

  start();
  return () => {
    abort.abort();
    closeStream();
    for (const { timer } of pending.values()) clearTimeout(timer);
  };
}
