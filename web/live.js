// Server-Sent Event streams of the ledger (GET /api/events/stream and
// GET /api/posts/{id}/stream; `id:` is the log position): one
// EventSource per view, its state shown in the page header. EventSource
// reconnects by itself, resuming with Last-Event-ID.

import { parseJson } from './json.js';

const kStateText = {
  connecting: '실시간: 연결 중…',
  live: '실시간: 연결됨',
  reconnecting: '실시간: 다시 연결하는 중…',
  closed: '실시간 업데이트를 받을 수 없습니다 (새로고침하세요)',
  off: '',
};

function showState(state, note = '') {
  const el = document.getElementById('live-state');
  if (!el) return;
  el.dataset.state = state;
  el.textContent = note ? `${kStateText[state]} (${note})` : kStateText[state];
}

// Opens `url` and calls handlers[eventName](data, messageEvent) with each
// event's parsed data. Returns a function that closes the stream.
export function openStream(url, handlers) {
  const source = new EventSource(url);
  showState('connecting');
  source.addEventListener('open', () => showState('live'));
  source.addEventListener('error', () => {
    showState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  });
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (message) => {
      let data;
      try {
        data = parseJson(message.data);
      } catch (e) {
        console.error(`stream ${url}: unreadable ${name} event`, e);
        return;
      }
      handler(data, message);
    });
  }
  // The server cut us off (slow consumer, shutting down): EventSource
  // reconnects after `retry` and resumes from Last-Event-ID.
  source.addEventListener('cut', (message) => {
    let reason = '';
    try {
      reason = parseJson(message.data).reason ?? '';
    } catch {
      // keep the reason empty
    }
    showState('reconnecting', reason);
  });
  return () => {
    source.close();
    showState('off');
  };
}

// The numeric post id of a stream name "post-12", or null.
export function postIdOfStream(stream) {
  const m = /^post-([1-9][0-9]*)$/.exec(String(stream));
  return m ? Number(m[1]) : null;
}
