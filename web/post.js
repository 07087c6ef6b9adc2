// The post page (#/posts/{id}): the detail, the post's event history paged
// by stream version, and both kept live by the post's stream: `ledger`
// events are appended to the history, `figures` events replace the detail.

import { ApiError, getJson, query } from './api.js';
import { errorBox, h } from './dom.js';
import { formatDday, formatInt, formatTime, formatWon, modelLabel, shortHash, statusLabel } from './format.js';
import { openStream } from './live.js';

const kHistoryPage = 100;

function progress(rate) {
  const n = Number(rate);
  return h('span', { class: n > 100 ? 'rate over' : 'rate' },
    h('progress', { max: 100, value: Math.max(0, Math.min(n, 100)), 'aria-label': `달성률 ${n}%` }),
    h('span', { class: 'rate-text' }, `${formatInt(rate)}%`));
}

function field(name, label, value) {
  return [h('dt', {}, label), h('dd', { dataset: { field: name } }, value)];
}

function renderFigures(dl, post) {
  dl.closest('article').dataset.status = post.status;
  dl.replaceChildren(
    ...field('status', '상태', h('span', { class: `badge status-${post.status}` }, statusLabel(post.status))),
    ...field('total_funded', '총 펀딩 금액', formatWon(post.total_funded)),
    ...field('achievement_rate', '달성률', progress(post.achievement_rate)),
    ...field('participant_count', '후원자 수', `${formatInt(post.participant_count)}명`),
    ...field('target_amount', '목표 금액', formatWon(post.target_amount)),
    ...field('funding_unit', '1회 펀딩 금액', formatWon(post.funding_unit)),
    ...field('funding_model', '펀딩 방식', modelLabel(post.funding_model)),
    ...field('max_fundings_per_backer', '후원자당 최대 펀딩',
      post.max_fundings_per_backer === null ? '제한 없음' : `${formatInt(post.max_fundings_per_backer)}회`),
    ...field('end_date', '마감일', `${post.end_date} (${formatDday(post.d_day)})`),
    ...field('uploader', '올린 사람', post.uploader),
    ...field('created_at', '만든 때', h('time', { datetime: post.created_at }, formatTime(post.created_at))),
    ...field('version', '버전', formatInt(post.version)),
  );
}

// One line of what an event did, for the history table.
export function eventSummary(e) {
  const d = e.data ?? {};
  switch (e.type) {
    case 'PostCreated':
      return `「${d.title}」 생성, 목표 ${formatWon(d.target_amount)}`;
    case 'PostEdited':
      return `수정: ${Object.keys(d).join(', ')}`;
    case 'PostDeleted':
      return `삭제, 환불 ${formatWon(d.refunded_amount)} (${formatInt(d.refunded_backers)}명)`;
    case 'PostFunded':
      return `${d.backer} 펀딩 ${formatInt(d.units)}회, ${formatWon(d.amount)}`;
    case 'FundingRefunded':
      return `${d.backer} 환불 ${formatWon(d.amount)}`;
    case 'FundingCancelled':
      return `${d.backer} 펀딩 취소 (#${d.funding_position}), ${formatWon(d.amount)}`;
    case 'PostSettled':
      return `정산: ${statusLabel(d.outcome)}, 총 ${formatWon(d.total_funded)}`;
    default:
      return e.type;
  }
}

function historyRow(e) {
  return h('tr', { dataset: { position: String(e.position), version: String(e.stream_version), type: e.type } },
    h('td', { class: 'num' }, String(e.position)),
    h('td', { class: 'num' }, String(e.stream_version)),
    h('td', {}, h('code', {}, e.type)),
    h('td', {}, eventSummary(e)),
    h('td', {}, e.actor),
    h('td', {}, h('time', { datetime: e.recorded_at }, formatTime(e.recorded_at))),
    h('td', {}, h('code', { title: e.hash }, shortHash(e.hash))));
}

export function renderPost(root, id) {
  const abort = new AbortController();
  const errors = h('div', { id: 'post-error' });
  const title = h('h2', { id: 'post-title' }, `캠페인 #${id}`);
  const description = h('p', { id: 'post-description', class: 'description' });
  const figures = h('dl', { id: 'post-figures', class: 'figures', 'aria-live': 'polite' });
  const history = h('tbody', { id: 'history-rows', 'aria-live': 'polite' });
  const more = h('button', { id: 'history-more', type: 'button', hidden: true }, '이벤트 더 보기');
  const article = h('article', { id: 'post', 'aria-labelledby': 'post-title', dataset: { postId: String(id) } },
    title,
    h('p', { class: 'links' },
      h('a', { href: `#/audit/${id}` }, '해시 체인 감사'), ' · ',
      h('a', { href: `/api/posts/${id}` }, 'JSON'), ' · ',
      h('a', { href: '#/' }, '목록으로')),
    errors,
    description,
    h('section', { 'aria-labelledby': 'figures-title' }, h('h3', { id: 'figures-title' }, '현황'), figures),
    h('section', { 'aria-labelledby': 'history-title' },
      h('h3', { id: 'history-title' }, '이벤트 기록'),
      h('table', { id: 'history', class: 'history' },
        h('caption', { class: 'visually-hidden' }, '이 캠페인의 이벤트, 오래된 것부터'),
        h('thead', {}, h('tr', {},
          ['위치', '버전', '유형', '내용', '주체', '기록 시각', '해시'].map((t) => h('th', { scope: 'col' }, t)))),
        history),
      more));
  root.replaceChildren(article);

  // The history is complete up to this stream version; live events are
  // appended only when they come right after it.
  let lastVersion = 0;
  let lastPosition = 0;
  let complete = false;
  let historyTitle = null;  // the title as of the last event shown

  const appendEvents = (items) => {
    for (const e of items) {
      const version = Number(e.stream_version);
      if (version !== lastVersion + 1) continue;  // a duplicate, or a gap the pager fills
      history.append(historyRow(e));
      if (typeof e.data?.title === 'string') historyTitle = e.data.title;
      lastVersion = version;
      lastPosition = Number(e.position);
    }
  };
  const loadHistory = async () => {
    more.disabled = true;
    try {
      const page = await getJson(`/api/posts/${id}/events${query({ after: lastVersion, limit: kHistoryPage })}`,
        { signal: abort.signal });
      appendEvents(page.items);
      complete = page.items.length < kHistoryPage;
      more.hidden = complete;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => loadHistory().catch((e) => errors.replaceChildren(errorBox(e))));

  const showDeleted = () => {
    article.dataset.status = 'deleted';
    if (historyTitle !== null) title.textContent = historyTitle;
    errors.replaceChildren(h('p', { class: 'note', id: 'post-deleted' },
      '이 캠페인은 삭제되었습니다. 이벤트 기록은 원장에 그대로 남습니다.'));
    const status = figures.querySelector('[data-field="status"]');
    if (status) status.replaceChildren(h('span', { class: 'badge status-deleted' }, statusLabel('deleted')));
  };
  const showDetail = (post) => {
    if (post.deleted) {
      showDeleted();
      return;
    }
    title.textContent = post.title;
    description.textContent = post.description;
    renderFigures(figures, post);
  };

  let closeStream = () => {};
  const start = async () => {
    let detailMissing = false;
    try {
      showDetail(await getJson(`/api/posts/${id}`, { signal: abort.signal }));
    } catch (e) {
      if (e.name === 'AbortError') return;
      detailMissing = e instanceof ApiError && e.status === 404;
      errors.replaceChildren(errorBox(e));
    }
    try {
      await loadHistory();
    } catch (e) {
      if (e.name === 'AbortError') return;
      errors.append(errorBox(e));
      return;
    }
    // No detail but a history: the post was deleted.
    if (detailMissing && lastVersion > 0) showDeleted();
    if (abort.signal.aborted) return;
    article.dataset.loaded = 'true';
    let figuresAt = 0;
    closeStream = openStream(`/api/posts/${id}/stream?after=${lastPosition}`, {
      ledger: (e) => {
        appendEvents([e]);
        if (Number(e.stream_version) > lastVersion) more.hidden = false;  // missed some: page on
      },
      figures: (f) => {
        const at = Number(f.position ?? 0);
        if (at < figuresAt) return;
        figuresAt = at;
        showDetail(f);
      },
    });
  };
  start();
  return () => {
    abort.abort();
    closeStream();
  };
}
