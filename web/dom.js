// A tiny element builder: h('a', { href: '#/' }, 'text', child…). Text is
// always set as text, never parsed as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// An alert box with an API error's title and detail.
export function errorBox(error) {
  const title = error?.title ?? '오류';
  const detail = error?.detail ?? (error?.title ? '' : String(error?.message ?? error));
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, title), detail ? ` — ${detail}` : '');
}
