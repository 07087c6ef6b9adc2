// Requests to the service's API (docs/api.md). Every failure becomes an
// ApiError carrying the problem+json `title` and `detail` when the server
// sent one, so a view can always say what went wrong.

import { parseJson } from './json.js';

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

// GET `path` and parse its JSON answer (see json.js for `lossless`).
// `headers` are sent as they are (e.g. X-Min-Position).
export async function getJson(path, { headers = {}, lossless = false, signal } = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json', ...headers }, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, '서버에 연결할 수 없습니다', `${path}: ${e.message}`);
  }
  const text = await response.text();
  if (!response.ok) throw problemOf(response, text, path);
  try {
    return parseJson(text, { lossless });
  } catch (e) {
    throw new ApiError(response.status, '알 수 없는 응답', `${path}: ${e.message}`);
  }
}

function problemOf(response, text, path) {
  try {
    const problem = parseJson(text);
    if (problem && typeof problem.title === 'string') {
      return new ApiError(response.status, problem.title, problem.detail ?? '');
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiError(response.status, `HTTP ${response.status}`, `${path}: ${response.statusText}`);
}

// The query string of `params`, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
