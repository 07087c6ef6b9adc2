#!/usr/bin/env node
// Checks recorded HTTP answers against the OpenAPI document (schemas/openapi.json).
//
// Usage: node check_responses.mjs OPENAPI_JSON RESPONSES_NDJSON
//
// Each non-blank line of RESPONSES_NDJSON is one answer:
//   {"method": "GET", "route": "/api/posts/{id}", "status": 200,
//    "content_type": "application/json", "body": "<raw body text>",
//    "headers": {"ETag": "\"3\"", ...}}                      (headers: optional)
// `route` is the OpenAPI path template the server routed the request to, or
// null when the request matched no route. `body` may be empty; `content_type`
// may be empty or absent when there is no body.
//
// Each answer must be documented: its path and method (or, for a request that
// matched no operation, `x-unrouted-responses`: 404 when route is null, 405
// when the path lacks the method, or an answer given before routing), its
// status, and its content type; a JSON body must be JSON; the body must match
// the response's schema (Ajv, JSON Schema 2020-12, strict, formats checked).
// When `headers` is given, the response's required headers must be there and
// every documented header that is there must match its schema. A 200 from
// GET /openapi.json must be OPENAPI_JSON itself.
//
// Prints every failure (method, route, status, the first 300 bytes of the
// body and Ajv's errors) and a summary line. Exit status: 0 when every answer
// passed, 1 when any failed (or there were none), 2 on a usage error or a
// document that cannot be compiled.
//
// Ajv and ajv-formats come from ops/node (installed by `ops/dev deps`); set
// LEDGER_NODE_DIR to use another directory with those packages.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const BODY_PREVIEW_BYTES = 300;
const DOC_ID = 'https://funding-ledger.example/openapi.json';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function usage(message) {
  process.stderr.write(`check_responses: ${message}\n` +
    'usage: node check_responses.mjs OPENAPI_JSON RESPONSES_NDJSON\n');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length !== 2) usage('expected two arguments');
const [docPath, ndjsonPath] = args;

const scriptDir = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.LEDGER_NODE_DIR || path.resolve(scriptDir, '../../ops/node');
const require = createRequire(path.join(nodeDir, 'package.json'));
let Ajv2020;
let addFormats;
try {
  Ajv2020 = require('ajv/dist/2020');
  addFormats = require('ajv-formats');
} catch (err) {
  usage(`cannot load ajv and ajv-formats from ${nodeDir} (run 'ops/dev deps'): ${err.message}`);
}
Ajv2020 = Ajv2020.default ?? Ajv2020;
addFormats = addFormats.default ?? addFormats;

let docText;
let ndjsonText;
try {
  docText = fs.readFileSync(docPath, 'utf8');
  ndjsonText = fs.readFileSync(ndjsonPath, 'utf8');
} catch (err) {
  usage(err.message);
}
let doc;
try {
  doc = JSON.parse(docText);
} catch (err) {
  usage(`${docPath} is not JSON: ${err.message}`);
}
if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.1.')) {
  usage(`${docPath} is not an OpenAPI 3.1 document`);
}

// ---- Ajv over the whole document ----------------------------------------------

const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63; // 2^63 - 1 as a double

const ajv = new Ajv2020({
  strict: true,
  allErrors: true,
  // OpenAPI 3.1 nullable members are type unions (["string", "null"]).
  allowUnionTypes: true,
});
addFormats(ajv);
// OpenAPI's numeric formats. Doubles lose precision above 2^53; the bounds
// are what a double can tell.
ajv.addFormat('int64', {
  type: 'number',
  validate: (x) => Number.isInteger(x) && x >= INT64_MIN && x <= INT64_MAX,
});
ajv.addFormat('int32', {
  type: 'number',
  validate: (x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31,
});
// OpenAPI's own schema keywords: annotations only, for this check.
ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example']);
// The document is added as one schema, so that every "#/components/..."
// reference inside it resolves against it. Ajv compiles its root (whose
// members are the OpenAPI object's fields: known here as annotations, so
// nothing under them is taken for a schema) and, through references, only
// the parts that are schemas.
ajv.addVocabulary(['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks',
  'components', 'security', 'tags'].concat(Object.keys(doc).filter((k) => k.startsWith('x-'))));
ajv.addSchema({ ...structuredClone(doc), $id: DOC_ID }, undefined, undefined, false);

const escapePointer = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (s) => s.replace(/~1/g, '/').replace(/~0/g, '~');

function at(pointer) {
  let node = doc;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[unescapePointer(part)];
  }
  return node;
}

// Follows local $refs; returns [object, its JSON pointer].
function deref(node, pointer) {
  const seen = new Set();
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (!node.$ref.startsWith('#/')) throw new Error(`non-local $ref ${node.$ref} at ${pointer}`);
    if (seen.has(node.$ref)) throw new Error(`$ref cycle at ${node.$ref}`);
    seen.add(node.$ref);
    pointer = node.$ref.slice(1);
    node = at(pointer);
  }
  return [node, pointer];
}

const validators = new Map();
function validatorAt(pointer) {
  let v = validators.get(pointer);
  if (!v) {
    // A JSON pointer in a URI fragment: each (already ~-escaped) segment
    // percent-encoded ("{id}", "application~1problem+json").
    v = ajv.compile({ $ref: `${DOC_ID}#${pointer.split('/').map(encodeURIComponent).join('/')}` });
    validators.set(pointer, v);
  }
  return v;
}

// Every response of the document: compile all of their schemas up front, so
// a schema that Ajv cannot compile (strict mode) fails the check at once.
function* allResponses() {
  for (const [route, item] of Object.entries(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      for (const status of Object.keys(op.responses ?? {})) {
        yield `/paths/${escapePointer(route)}/${method}/responses/${escapePointer(status)}`;
      }
    }
  }
  for (const status of Object.keys(doc['x-unrouted-responses']?.responses ?? {})) {
    yield `/x-unrouted-responses/responses/${escapePointer(status)}`;
  }
}
try {
  let compiled = 0;
  for (const pointer of allResponses()) {
    const [response, rp] = deref(at(pointer), pointer);
    for (const media of Object.keys(response?.content ?? {})) {
      if (response.content[media].schema !== undefined) {
        validatorAt(`${rp}/content/${escapePointer(media)}/schema`);
        compiled += 1;
      }
    }
    for (const name of Object.keys(response?.headers ?? {})) {
      const [header, hp] = deref(response.headers[name], `${rp}/headers/${escapePointer(name)}`);
      if (header?.schema !== undefined) validatorAt(`${hp}/schema`);
    }
  }
  if (compiled === 0) usage(`${docPath} documents no response bodies`);
} catch (err) {
  usage(`cannot compile the schemas of ${docPath}: ${err.message}`);
}

// ---- checking one answer ------------------------------------------------------

const mediaOf = (contentType) => (contentType ?? '').split(';')[0].trim().toLowerCase();
const isJsonMedia = (media) => media === 'application/json' || /^[a-z0-9.+-]+\/[a-z0-9.+-]*\+json$/.test(media);

function preview(body) {
  const bytes = Buffer.from(body ?? '', 'utf8');
  const head = bytes.subarray(0, BODY_PREVIEW_BYTES).toString('utf8');
  return bytes.length > BODY_PREVIEW_BYTES ? `${head}… (${bytes.length} bytes)` : head;
}

// Finds the documented response: [response object, its pointer] or throws a
// message.
function documentedResponse(method, route, status) {
  const unrouted = doc['x-unrouted-responses']?.responses ?? {};
  const pick = (responses, base, allowed) => {
    const keys = [String(status), `${String(status)[0]}XX`, 'default'];
    for (const key of keys) {
      if (key in responses && (!allowed || allowed(key))) {
        return deref(responses[key], `${base}/${escapePointer(key)}`);
      }
    }
    return null;
  };
  if (route === null) {
    const found = pick(unrouted, '/x-unrouted-responses/responses', (k) => k !== '405');
    if (!found) throw new Error(`status ${status} is not documented for a request that matched no route (x-unrouted-responses)`);
    return found;
  }
  const item = doc.paths?.[route];
  if (!item) throw new Error(`route ${route} is not documented (not in paths)`);
  const op = item[method.toLowerCase()];
  if (!HTTP_METHODS.includes(method.toLowerCase()) || !op) {
    const found = pick(unrouted, '/x-unrouted-responses/responses', (k) => k !== '404');
    if (!found) throw new Error(`${method} is not documented for ${route}, and status ${status} is not an answer to an undocumented method (x-unrouted-responses)`);
    return found;
  }
  const found = pick(op.responses ?? {}, `/paths/${escapePointer(route)}/${method.toLowerCase()}/responses`);
  if (!found) throw new Error(`status ${status} is not documented for ${method} ${route}`);
  return found;
}

function checkHeaders(response, rp, headers, problems) {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [name, h] of Object.entries(response.headers ?? {})) {
    const [header, hp] = deref(h, `${rp}/headers/${escapePointer(name)}`);
    const value = lower.get(name.toLowerCase());
    if (value === undefined) {
      if (header.required) problems.push(`required header ${name} is missing`);
      continue;
    }
    if (header.schema === undefined) continue;
    const validate = validatorAt(`${hp}/schema`);
    const text = String(value);
    const wantsInteger = header.schema.type === 'integer';
    let typed = text;
    if (wantsInteger) {
      if (!/^-?[0-9]+$/.test(text)) {
        problems.push(`header ${name}: ${JSON.stringify(text)} is not an integer`);
        continue;
      }
      typed = Number(text);
    }
    if (!validate(typed)) {
      problems.push(`header ${name}: ${JSON.stringify(text)} does not match its schema\n` +
                    JSON.stringify(validate.errors, null, 2));
    }
  }
}

function check(entry) {
  const problems = [];
  const { method, route, status } = entry;
  const body = entry.body ?? '';
  if (typeof method !== 'string' || method === '') throw new Error('"method" must be a non-empty string');
  if (route !== null && typeof route !== 'string') throw new Error('"route" must be a string or null');
  if (!Number.isInteger(status)) throw new Error('"status" must be an integer');
  if (typeof body !== 'string') throw new Error('"body" must be a string');
  if (entry.headers !== undefined &&
      (entry.headers === null || typeof entry.headers !== 'object' || Array.isArray(entry.headers))) {
    throw new Error('"headers" must be an object');
  }

  const [response, rp] = documentedResponse(method, route, status);
  if (entry.headers) checkHeaders(response, rp, entry.headers, problems);

  const content = response.content ?? {};
  if (Object.keys(content).length === 0) {
    if (body !== '') problems.push(`the response is documented without a body, but one was sent`);
    return problems;
  }
  const media = mediaOf(entry.content_type);
  const mediaKey = Object.keys(content).find((k) => mediaOf(k) === media);
  if (mediaKey === undefined) {
    problems.push(`content type ${JSON.stringify(entry.content_type ?? '')} is not documented ` +
                  `(documented: ${Object.keys(content).join(', ')})`);
    return problems;
  }
  let value = body;
  if (isJsonMedia(media)) {
    try {
      value = JSON.parse(body);
    } catch (err) {
      problems.push(`the body is not JSON: ${err.message}`);
      return problems;
    }
  }
  if (content[mediaKey].schema !== undefined) {
    const validate = validatorAt(`${rp}/content/${escapePointer(mediaKey)}/schema`);
    if (!validate(value)) {
      problems.push(`the body does not match the schema at #${rp}/content/${escapePointer(mediaKey)}/schema\n` +
                    JSON.stringify(validate.errors, null, 2));
    }
  }
  if (route === '/openapi.json' && method.toUpperCase() === 'GET' && status === 200 &&
      !isDeepStrictEqual(value, doc)) {
    problems.push(`the served document differs from ${docPath}`);
  }
  return problems;
}

// ---- main -------------------------------------------------------------------

let passed = 0;
let failed = 0;
const lines = ndjsonText.split('\n');
lines.forEach((line, i) => {
  if (line.trim() === '') return;
  const where = `${ndjsonPath}:${i + 1}`;
  let entry;
  let problems;
  try {
    entry = JSON.parse(line);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new Error('the line is not a JSON object');
    }
    problems = check(entry);
  } catch (err) {
    problems = [err.message];
  }
  if (problems.length === 0) {
    passed += 1;
    return;
  }
  failed += 1;
  const e = entry && typeof entry === 'object' ? entry : {};
  const route = e.route === null ? '(no route)' : e.route;
  console.log(`FAIL  ${where}: ${e.method} ${route} ${e.status}` +
              `${e.content_type ? ` (${e.content_type})` : ''}`);
  for (const p of problems) console.log(p.replace(/^/gm, '      '));
  console.log(`      body: ${JSON.stringify(preview(e.body))}`);
});

if (passed + failed === 0) {
  console.log(`FAIL  ${ndjsonPath} holds no answers to check`);
  failed += 1;
}
console.log(`check_responses: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
