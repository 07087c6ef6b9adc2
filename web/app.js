// The ledger explorer: hash routes to its three views.
//   #/               the campaign board (?search=&order_by=&status=)
//   #/posts/{id}     a post, its figures and its history, live
//   #/audit[/{id}]   the hash chain re-checked in the browser

import { renderAudit } from './audit.js';
import { renderBoard } from './board.js';
import { errorBox, h } from './dom.js';
import { renderPost } from './post.js';

const view = document.getElementById('view');
let cleanup = () => {};

function parseRoute(hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  let m;
  if (path === '/' || path === '') return { name: 'board', params, title: '캠페인' };
  if ((m = /^\/posts\/([1-9][0-9]{0,18})$/.exec(path))) return { name: 'post', id: m[1], params, title: `캠페인 #${m[1]}` };
  if (path === '/audit') return { name: 'audit', id: null, params, title: '원장 감사' };
  if ((m = /^\/audit\/([1-9][0-9]{0,18})$/.exec(path))) return { name: 'audit', id: m[1], params, title: `캠페인 #${m[1]} 감사` };
  return { name: 'unknown', params, title: '없는 페이지' };
}

function route() {
  cleanup();
  cleanup = () => {};
  const r = parseRoute(location.hash);
  document.title = `${r.title} — funding-ledger 원장 탐색기`;
  document.body.dataset.view = r.name;
  try {
    if (r.name === 'board') cleanup = renderBoard(view, r.params);
    else if (r.name === 'post') cleanup = renderPost(view, r.id);
    else if (r.name === 'audit') cleanup = renderAudit(view, r.id, r.params);
    else view.replaceChildren(h('h2', {}, '없는 페이지'), h('p', {}, h('a', { href: '#/' }, '캠페인 목록으로')));
  } catch (e) {
    view.replaceChildren(errorBox(e));
  }
}

window.addEventListener('hashchange', () => {
  route();
  // Move focus to the new view for keyboard and screen reader users, unless
  // the change came from a form inside it (the search keeps its focus).
  if (!view.contains(document.activeElement)) document.getElementById('main').focus({ preventScroll: false });
});
route();
