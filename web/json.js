// A JSON parser that keeps what JSON.parse loses. The ledger's integers are
// int64 (amounts, positions), and a JavaScript number holds integers exactly
// only up to 2^53; the audit view must re-encode every digit the server
// hashed. So integers are kept as their text:
//
//   parseJson(text)                    integers within 2^53 as numbers, larger
//                                      ones as BigInt, anything else a number
//   parseJson(text, { lossless: true }) every number as a JsonNumber holding
//                                      its exact text
//
// Object members keep their order. Throws SyntaxError on malformed input.

export class JsonNumber {
  constructor(raw) {
    this.raw = raw;
  }
  isInteger() {
    return /^-?(0|[1-9][0-9]*)$/.test(this.raw);
  }
  toBigInt() {
    return BigInt(this.raw);
  }
  toString() {
    return this.raw;
  }
}

const kMaxDepth = 64;
const kNumber = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const kSimpleEscapes = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function parseJson(text, { lossless = false } = {}) {
  let at = 0;

  const fail = (what) => {
    throw new SyntaxError(`JSON: ${what} at offset ${at}`);
  };
  const skipSpace = () => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      at += 1;
    }
  };
  const expect = (literal) => {
    if (!text.startsWith(literal, at)) fail(`expected ${literal}`);
    at += literal.length;
  };

  const parseString = () => {
    expect('"');
    let out = '';
    let run = at;
    for (;;) {
      if (at >= text.length) fail('unterminated string');
      const c = text.charCodeAt(at);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        at += 1;
        continue;
      }
      out += text.slice(run, at);
      const e = text[at + 1];
      if (e === 'u') {
        const hex = text.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        at += 6;
      } else if (e !== undefined && Object.hasOwn(kSimpleEscapes, e)) {
        out += kSimpleEscapes[e];
        at += 2;
      } else {
        fail('bad escape');
      }
      run = at;
    }
    out += text.slice(run, at);
    at += 1;
    return out;
  };

  const parseNumber = () => {
    kNumber.lastIndex = at;
    const m = kNumber.exec(text);
    if (m === null) fail('unexpected character');
    at += m[0].length;
    const raw = m[0];
    const number = new JsonNumber(raw);
    if (lossless) return number;
    if (number.isInteger()) {
      const value = Number(raw);
      return Number.isSafeInteger(value) ? value : BigInt(raw);
    }
    return Number(raw);
  };

  const parseValue = (depth) => {
    if (depth > kMaxDepth) fail('nesting too deep');
    skipSpace();
    const c = text[at];
    if (c === '{') {
      at += 1;
      const obj = {};
      skipSpace();
      if (text[at] === '}') {
        at += 1;
        return obj;
      }
      for (;;) {
        skipSpace();
        const key = parseString();
        skipSpace();
        expect(':');
        const value = parseValue(depth + 1);
        if (Object.hasOwn(obj, key)) fail(`duplicate member "${key}"`);
        Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        skipSpace();
        if (text[at] === ',') {
          at += 1;
          continue;
        }
        expect('}');
        return obj;
      }
    }
    if (c === '[') {
      at += 1;
      const arr = [];
      skipSpace();
      if (text[at] === ']') {
        at += 1;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        skipSpace();
        if (text[at] === ',') {
          at += 1;
          continue;
        }
        expect(']');
        return arr;
      }
    }
    if (c === '"') return parseString();
    if (c === 't') return expect('true'), true;
    if (c === 'f') return expect('false'), false;
    if (c === 'n') return expect('null'), null;
    return parseNumber();
  };

  const value = parseValue(0);
  skipSpace();
  if (at !== text.length) fail('trailing characters');
  return value;
}
