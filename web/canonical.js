// The ledger's hash chain, re-checked from the API's own output
// (docs/architecture.md, "Canonical bytes and the hash rule"):
//
//   hash(n) = SHA-256(hash(n-1) || canonical(event n)),  hash(0) = 32 zero bytes
//
// canonical(event) is compact JSON with the members in a fixed order (below),
// UTF-8 as it is, and only `"`, `\` and control characters escaped, exactly as
// src/common/json_writer.cc writes them. Envelopes must be parsed with
// parseJson(text, { lossless: true }) so that int64 values keep every digit.

import { JsonNumber } from './json.js';
import { sha256 } from './sha256.js';

export const kGenesisHash = '0'.repeat(64);

const kEnvelopeOrder = [
  'position', 'stream', 'stream_version', 'type', 'schema_version', 'recorded_at', 'actor',
  'correlation_id', 'idempotency_key', 'data',
];
// Served beside the canonical members, never hashed.
const kEnvelopeExtra = ['prev_hash', 'hash'];

// `data` members of each event type in the order of its struct (src/events/codec.cc);
// a member that is absent (PostEdited's optional ones, version 1's missing
// terms) is left out, never written as null.
const kDataOrder = {
  PostCreated: ['title', 'uploader', 'owner', 'description', 'target_amount', 'funding_unit',
    'end_date', 'closes_at', 'funding_model', 'max_fundings_per_backer'],
  PostEdited: ['title', 'uploader', 'description', 'funding_unit', 'end_date', 'closes_at',
    'funding_model', 'max_fundings_per_backer'],
  PostDeleted: ['refunded_amount', 'refunded_backers'],
  PostFunded: ['backer', 'units', 'amount'],
  FundingRefunded: ['backer', 'units', 'amount'],
  FundingCancelled: ['backer', 'funding_position', 'units', 'amount'],
  PostSettled: ['outcome', 'total_funded', 'participant_count', 'refunded_amount',
    'refunded_backers'],
};

export class CanonicalError extends Error {}

const kShortEscapes = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };
const kHex = '0123456789ABCDEF';

// A JSON string as json_writer.cc writes it: `"` and `\` with a backslash;
// \b \t \n \f \r; any other code below 0x20 as \u00XX (upper-case hex);
// everything else, DEL and U+2028 included, as it is.
export function encodeString(text) {
  let out = '"';
  let run = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += text.slice(run, i);
    run = i + 1;
    out += kShortEscapes[c] ?? `\\u00${kHex[c >> 4]}${kHex[c & 0xf]}`;
  }
  return `${out}${text.slice(run)}"`;
}

function encodeScalar(value, where) {
  if (value === null) return 'null';
  if (typeof value === 'string') return encodeString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof JsonNumber) {
    if (!value.isInteger()) throw new CanonicalError(`${where}: ${value.raw} is not an integer`);
    // -0 is written 0 by the server's int64 writer.
    return value.raw === '-0' ? '0' : value.raw;
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw new CanonicalError(`${where}: not a canonical value (parse envelopes with { lossless: true })`);
}

function encodeMembers(obj, order, where) {
  const keys = Object.keys(obj);
  const unknown = keys.filter((k) => !order.includes(k));
  if (unknown.length > 0) throw new CanonicalError(`${where}: unknown member ${unknown.join(', ')}`);
  return order
    .filter((k) => Object.hasOwn(obj, k))
    .map((k) => `${encodeString(k)}:${encodeScalar(obj[k], `${where}.${k}`)}`)
    .join(',');
}

// The canonical JSON text of `envelope` (an item of /api/events, parsed
// losslessly). Throws CanonicalError when it holds anything the server could
// not have hashed: a missing or unknown member, an unknown type, a non-integer.
export function canonicalJson(envelope) {
  if (envelope === null || typeof envelope !== 'object') throw new CanonicalError('not an object');
  for (const key of Object.keys(envelope)) {
    if (!kEnvelopeOrder.includes(key) && !kEnvelopeExtra.includes(key)) {
      throw new CanonicalError(`unknown envelope member ${key}`);
    }
  }
  for (const key of kEnvelopeOrder) {
    if (!Object.hasOwn(envelope, key)) throw new CanonicalError(`missing envelope member ${key}`);
  }
  const order = kDataOrder[envelope.type];
  if (order === undefined) throw new CanonicalError(`unknown event type ${String(envelope.type)}`);
  const { data } = envelope;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new CanonicalError('data is not an object');
  }
  const head = kEnvelopeOrder
    .slice(0, -1)
    .map((k) => `${encodeString(k)}:${encodeScalar(envelope[k], k)}`)
    .join(',');
  return `{${head},"data":{${encodeMembers(data, order, 'data')}}}`;
}

export function canonicalBytes(envelope) {
  return new TextEncoder().encode(canonicalJson(envelope));
}

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) {
    throw new CanonicalError(`not a 64-digit lower-case hex hash: ${String(hex)}`);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i += 1) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Which SHA-256 runs: WebCrypto where the browser offers it (a secure
// context), else sha256.js.
export function digestEngine() {
  return globalThis.crypto?.subtle ? 'WebCrypto' : 'sha256.js';
}

async function digest(bytes) {
  if (globalThis.crypto?.subtle) {
    return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  }
  return sha256(bytes);
}

// SHA-256(prev || canonical) as lower-case hex.
export async function chainHash(prevHashHex, canonical) {
  const prev = hexToBytes(prevHashHex);
  const input = new Uint8Array(prev.length + canonical.length);
  input.set(prev);
  input.set(canonical, prev.length);
  return bytesToHex(await digest(input));
}

// Re-computes one event's hash from its own prev_hash and canonical bytes.
// → { ok, computed, canonical, problem }
export async function checkEvent(envelope) {
  try {
    const text = canonicalJson(envelope);
    const computed = await chainHash(envelope.prev_hash, new TextEncoder().encode(text));
    const ok = computed === envelope.hash;
    return { ok, computed, canonical: text, problem: ok ? '' : 'the hash does not match its bytes' };
  } catch (e) {
    if (!(e instanceof CanonicalError)) throw e;
    return { ok: false, computed: '', canonical: '', problem: e.message };
  }
}

const positionOf = (envelope) =>
  envelope.position instanceof JsonNumber ? envelope.position.toBigInt() : BigInt(envelope.position);

// Checks consecutive global events: each hashes to its hash, each names the
// previous one's hash as prev_hash, positions step by one; the first starts
// from `firstPrevHash` when given (the genesis hash for position 1).
// → { ok, results: [{ok, problem, computed}], problem }
export async function checkChain(envelopes, { firstPrevHash } = {}) {
  const results = [];
  let problem = '';
  for (let i = 0; i < envelopes.length; i += 1) {
    const e = envelopes[i];
    const r = await checkEvent(e);
    if (r.ok && i > 0) {
      const prev = envelopes[i - 1];
      if (positionOf(e) !== positionOf(prev) + 1n) {
        r.ok = false;
        r.problem = `position ${positionOf(e)} does not follow ${positionOf(prev)}`;
      } else if (e.prev_hash !== prev.hash) {
        r.ok = false;
        r.problem = 'prev_hash is not the hash of the previous event';
      }
    }
    if (r.ok && i === 0 && firstPrevHash !== undefined && e.prev_hash !== firstPrevHash) {
      r.ok = false;
      r.problem = 'prev_hash is not the hash it must start from';
    }
    if (!r.ok && problem === '') problem = `position ${positionOf(e)}: ${r.problem}`;
    results.push(r);
  }
  return { ok: problem === '', results, problem };
}
