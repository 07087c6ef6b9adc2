// Numbers, dates and states as people read them (Korean conventions).

import { JsonNumber } from './json.js';

const kNumber = new Intl.NumberFormat('ko-KR');

// An integer that may be a number, a BigInt or a JsonNumber (int64 values
// beyond 2^53 stay exact).
export function formatInt(value) {
  if (value === null || value === undefined) return '—';
  if (value instanceof JsonNumber) return kNumber.format(value.toBigInt());
  return kNumber.format(value);
}

export function formatWon(value) {
  return `${formatInt(value)}원`;
}

// d_day: days left to end_date; 0 on the last day, negative after it.
export function formatDday(d) {
  const n = Number(d);
  if (!Number.isFinite(n)) return '—';
  if (n === 0) return 'D-Day';
  return n > 0 ? `D-${n}` : `D+${-n}`;
}

const kStatus = { funding: '펀딩 중', successful: '성공', failed: '실패', deleted: '삭제됨' };
export function statusLabel(status) {
  return kStatus[status] ?? String(status);
}

const kModel = { keep_it_all: '모두 지급 (keep it all)', all_or_nothing: '목표 달성 시 지급 (all or nothing)' };
export function modelLabel(model) {
  return kModel[model] ?? String(model);
}

const kTime = new Intl.DateTimeFormat('ko-KR', {
  dateStyle: 'medium',
  timeStyle: 'medium',
  timeZone: 'Asia/Seoul',
});
// An RFC 3339 timestamp, shown in Seoul time (the raw value stays in the title).
export function formatTime(text) {
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? String(text) : kTime.format(t);
}

export function shortHash(hex) {
  return typeof hex === 'string' ? `${hex.slice(0, 12)}…` : '—';
}
