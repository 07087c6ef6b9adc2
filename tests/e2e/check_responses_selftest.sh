#!/usr/bin/env bash
# Self-test of tests/e2e/check_responses.mjs against schemas/openapi.json:
#   1. a file of documented, valid answers passes (exit 0), and each of them
#      passes alone;
#   2. each broken answer (an extra member in a PostDetail, a wrong type, an
#      undocumented status, route or method, a body that is not JSON, ...)
#      fails (exit 1) for its own reason, alone and mixed among good ones;
#   3. usage errors exit 2;
#   4. the event schemas copied into the document's components still agree
#      with schemas/events/*.schema.json (the same members, required ones and
#      bounds), so the two cannot drift apart silently.
#
# Usage: check_responses_selftest.sh REPO_ROOT
# Needs node and the tools of ops/node (`ops/dev deps`).
set -euo pipefail

die() {
  echo "check_responses_selftest: error: $*" >&2
  exit 2
}

[[ $# -eq 1 ]] || die "usage: $0 REPO_ROOT"
repo_root=$1
checker=$repo_root/tests/e2e/check_responses.mjs
doc=$repo_root/schemas/openapi.json
[[ -f $checker ]] || die "no checker at '$checker' (is '$repo_root' the repo root?)"
[[ -f $doc ]] || die "no OpenAPI document at '$doc'"
command -v node >/dev/null || die "node is not on PATH; install it with 'ops/dev deps'"
[[ -d $repo_root/ops/node/node_modules/ajv ]] ||
  die "ajv missing from ops/node/node_modules; install the node tools with 'ops/dev deps'"

work=$(mktemp -d "${TMPDIR:-/tmp}/check_responses_selftest.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

passed=0
failed=0
pass() {
  passed=$((passed + 1))
  echo "ok    $*"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL  $*"
}

# Writes the cases: $work/good/<name>.ndjson (one valid answer each) and
# $work/bad/<name>.ndjson (one broken answer each) with
# $work/bad/<name>.expect holding a piece of text the checker must print.
cat >"$work/cases.mjs" <<'JS'
import fs from 'node:fs';
import path from 'node:path';

const [docPath, workDir] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(docPath, 'utf8'));

const detail = {
  id: 42, title: '내 취미 만들기', uploader: 'kim', total_funded: 5000000, achievement_rate: 500,
  d_day: -3, status: 'successful', description: '', target_amount: 1000000, funding_unit: 10000,
  funding_model: 'keep_it_all', max_fundings_per_backer: null, end_date: '2026-12-31', participant_count: 37, created_at: '2026-11-21T03:04:05.123456Z',
  version: 61,
};
const summary = (({ id, title, uploader, total_funded, achievement_rate, d_day, status }) =>
  ({ id, title, uploader, total_funded, achievement_rate, d_day, status }))(detail);
const write = { ...detail, position: 1234 };
const hash = (c) => c.repeat(64);
const envelope = (position, type, data, extra = {}) => ({
  position, stream: 'post-42', stream_version: position, type, schema_version: 1,
  recorded_at: '2026-11-21T03:04:05.123456Z', actor: 'user-1', correlation_id: 'req-1',
  idempotency_key: null, data, prev_hash: hash(String(position - 1)), hash: hash(String(position)),
  ...extra,
});
const events = [
  envelope(1, 'PostCreated', {
    title: '내 취미 만들기', uploader: 'kim', owner: 'user-1', description: '', target_amount: 1000000,
    funding_unit: 10000, end_date: '2026-12-31', closes_at: '2026-12-31T15:00:00.000000Z',
  }),
  envelope(2, 'PostEdited', { end_date: '2027-01-31', closes_at: '2027-01-31T15:00:00.000000Z' }),
  envelope(3, 'PostFunded', { backer: 'user-2', units: 3, amount: 30000 }, { idempotency_key: 'k-1' }),
  envelope(4, 'FundingRefunded', { backer: 'user-2', units: 3, amount: 30000 }),
  envelope(5, 'PostDeleted', { refunded_amount: 30000, refunded_backers: 1 }),
];
const problem = (name, status, extra = {}) => ({
  type: `urn:funding-ledger:problem:${name}`, title: 'A title', status, detail: 'what happened',
  instance: '/api/posts/42', request_id: 'req-1', ...extra,
});
const json = 'application/json';
const pjson = 'application/problem+json';
const line = (method, route, status, contentType, body, headers) => ({
  method, route, status, content_type: contentType,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  ...(headers ? { headers } : {}),
});

const good = {
  'detail': line('GET', '/api/posts/{id}', 200, `${json}; charset=utf-8`, detail,
                 { ETag: '"61"', 'X-Request-Id': 'req-1' }),
  'list-page': line('GET', '/api/posts', 200, json, { items: [summary], next_cursor: 'djF8LXRvdGFs' }),
  'list-last-page': line('GET', '/api/posts', 200, json, { items: [], next_cursor: null }),
  'create-one': line('POST', '/api/posts', 201, json, write,
                     { Location: '/api/posts/42', ETag: '"61"', 'X-Ledger-Position': '1234',
                       'X-Request-Id': 'req-1' }),
  'create-array': line('POST', '/api/posts', 201, json, [write, { ...write, id: 43 }],
                       { Location: '/api/posts/42', 'X-Ledger-Position': '1234',
                         'Idempotent-Replayed': 'true', 'X-Request-Id': 'req-1' }),
  'edit': line('PATCH', '/api/posts/{id}', 200, json, write),
  'edit-target': line('PATCH', '/api/posts/{id}', 422, pjson, problem('target_immutable', 422, {
    errors: [{ pointer: '/target_amount', detail: 'target_amount is immutable' }],
  })),
  'delete': line('DELETE', '/api/posts/{id}', 204, '', '',
                 { 'X-Ledger-Position': '1240', 'X-Request-Id': 'req-1' }),
  'fund': line('POST', '/api/posts/{id}/fundings', 201, json,
               { post_id: 42, backer: 'user-2', units: 3, amount: 30000, position: 1235 }),
  'fund-closed': line('POST', '/api/posts/{id}/fundings', 409, pjson, problem('funding_closed', 409)),
  'unauthorized': line('POST', '/api/posts', 401, pjson, problem('unauthorized', 401),
                       { 'WWW-Authenticate': 'Bearer realm="funding-ledger"', 'X-Request-Id': 'r' }),
  'bad-limit': line('GET', '/api/posts', 400, pjson, problem('invalid_parameter', 400, {
    errors: [{ parameter: 'limit', detail: 'limit must be 1..100' }],
  })),
  'events': line('GET', '/api/events', 200, json, { items: events, next_after: 5 }),
  'post-events-none': line('GET', '/api/posts/{id}/events', 200, json, { items: [], next_after: null }),
  'head': line('GET', '/api/ledger/head', 200, json, { position: 5, hash: hash('a') }),
  'healthz': line('GET', '/healthz', 200, json, { status: 'ok' }),
  'readyz-ready': line('GET', '/readyz', 200, json, {
    status: 'ready', log_position: 0, projector_position: 0, problems: [],
  }),
  'readyz-not-ready': line('GET', '/readyz', 503, json, {
    status: 'not_ready', log_position: 5, projector_position: -1,
    problems: ['projector has not reached the database yet'],
  }),
  'overloaded': line('POST', '/api/posts', 503, pjson, problem('overloaded', 503),
                     { 'Retry-After': '1', 'X-Request-Id': 'r' }),
  'metrics': line('GET', '/metrics', 200, 'text/plain; version=0.0.4; charset=utf-8',
                  '# TYPE x counter\nx 1\n'),
  'openapi': line('GET', '/openapi.json', 200, json, fs.readFileSync(docPath, 'utf8')),
  'no-route': line('GET', null, 404, pjson, problem('not_found', 404)),
  'wrong-method': line('PUT', '/api/posts/{id}', 405, pjson, problem('method_not_allowed', 405),
                       { Allow: 'GET, PATCH, DELETE', 'X-Request-Id': 'r' }),
};

const bad = {
  'detail-extra-member': [line('GET', '/api/posts/{id}', 200, json, { ...detail, owner: 'user-1' }),
                          'additionalProperties'],
  'detail-wrong-type': [line('GET', '/api/posts/{id}', 200, json, { ...detail, total_funded: '5000000' }),
                        'must be integer'],
  'detail-missing-member': [line('GET', '/api/posts/{id}', 200, json,
                                 (({ version, ...rest }) => rest)(detail)), "must have required property 'version'"],
  'detail-bad-timestamp': [line('GET', '/api/posts/{id}', 200, json,
                                { ...detail, created_at: '2026-11-21T03:04:05Z' }), 'must match pattern'],
  'detail-bad-status-enum': [line('GET', '/api/posts/{id}', 200, json, { ...detail, status: 'open' }),
                             'must be equal to one of the allowed values'],
  'undocumented-status': [line('GET', '/api/posts/{id}', 409, pjson, problem('funding_closed', 409)),
                          'status 409 is not documented for GET /api/posts/{id}'],
  'undocumented-route': [line('GET', '/api/nope', 200, json, {}), 'route /api/nope is not documented'],
  'undocumented-method': [line('PUT', '/api/posts/{id}', 200, json, detail), 'PUT is not documented'],
  'not-json': [line('GET', '/api/posts/{id}', 200, json, '{"id": 42,'), 'the body is not JSON'],
  'undocumented-content-type': [line('GET', '/api/posts/{id}', 200, 'text/html', '<p>hi</p>'),
                                'content type "text/html" is not documented'],
  'problem-as-json': [line('GET', '/api/posts/{id}', 404, json, problem('not_found', 404)),
                      'content type "application/json" is not documented'],
  'problem-type-for-another-status': [line('GET', '/api/posts/{id}', 404, pjson, problem('funding_closed', 404)),
                                      'must be equal to one of the allowed values'],
  'problem-status-mismatch': [line('GET', '/api/posts/{id}', 404, pjson, problem('not_found', 410)),
                              'must be equal to constant'],
  'problem-bad-type-urn': [line('GET', '/api/posts/{id}', 404, pjson, { ...problem('not_found', 404),
                                type: 'about:blank' }), 'must match pattern'],
  'problem-error-both': [line('POST', '/api/posts', 422, pjson, problem('validation_failed', 422, {
    errors: [{ pointer: '/title', parameter: 'title', detail: 'x' }] })), 'must match exactly one schema'],
  'body-on-204': [line('DELETE', '/api/posts/{id}', 204, json, '{}'), 'documented without a body'],
  'missing-etag': [line('GET', '/api/posts/{id}', 200, json, detail, { 'X-Request-Id': 'r' }),
                   'required header ETag is missing'],
  'bad-position-header': [line('PATCH', '/api/posts/{id}', 200, json, write,
                               { ETag: '"61"', 'X-Ledger-Position': 'abc', 'X-Request-Id': 'r' }),
                          'header X-Ledger-Position: "abc" is not an integer'],
  'event-unknown-member': [line('GET', '/api/events', 200, json, {
    items: [{ ...events[0], extra: 1 }], next_after: 1 }), 'additionalProperties'],
  'event-data-of-another-type': [line('GET', '/api/events', 200, json, {
    items: [{ ...events[2], type: 'PostCreated' }], next_after: 3 }), "must have required property 'title'"],
  'openapi-differs': [line('GET', '/openapi.json', 200, json, { ...doc, info: { ...doc.info, version: '0' } }),
                      'the served document differs'],
  'readyz-ready-with-problems': [line('GET', '/readyz', 200, json, {
    status: 'ready', log_position: 5, projector_position: 5, problems: ['x'] }), 'must NOT have more than 0 items'],
  'no-route-405': [line('GET', null, 405, pjson, problem('method_not_allowed', 405)),
                   'status 405 is not documented for a request that matched no route'],
  'missing-status': [{ method: 'GET', route: '/healthz', content_type: json, body: '{"status":"ok"}' },
                     '"status" must be an integer'],
};

const write_ = (dir, name, value) => {
  fs.mkdirSync(path.join(workDir, dir), { recursive: true });
  fs.writeFileSync(path.join(workDir, dir, `${name}.ndjson`), `${JSON.stringify(value)}\n`);
};
for (const [name, value] of Object.entries(good)) write_('good', name, value);
for (const [name, [value, expect]] of Object.entries(bad)) {
  write_('bad', name, value);
  fs.writeFileSync(path.join(workDir, 'bad', `${name}.expect`), expect);
}
// Every good answer in one file, with blank lines between some.
fs.writeFileSync(path.join(workDir, 'all-good.ndjson'),
                 Object.values(good).map((v) => JSON.stringify(v)).join('\n\n') + '\n');
// The good ones with one broken answer in the middle.
const mixed = Object.values(good).map((v) => JSON.stringify(v));
mixed.splice(3, 0, JSON.stringify(bad['detail-extra-member'][0]));
fs.writeFileSync(path.join(workDir, 'mixed.ndjson'), mixed.join('\n') + '\n');
fs.writeFileSync(path.join(workDir, 'empty.ndjson'), '\n');
fs.writeFileSync(path.join(workDir, 'not-ndjson.ndjson'), 'GET /api/posts 200\n');
JS

# Compares the document's copies of the event schemas with schemas/events:
# the same members, required members and numeric and length bounds.
cat >"$work/sync.mjs" <<'JS'
import fs from 'node:fs';
import path from 'node:path';

const [docPath, eventsDir] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(docPath, 'utf8'));
const components = doc.components.schemas;
const load = (name) => JSON.parse(fs.readFileSync(path.join(eventsDir, `${name}.schema.json`), 'utf8'));
const envelopeFile = load('envelope');

// Resolves a schema's $refs (within its file, envelope.schema.json, or the
// document's components) and returns the facts compared.
function resolve(schema, file) {
  while (schema && schema.$ref) {
    const [target, pointer] = schema.$ref.split('#');
    const base = target === '' ? file : target === 'envelope.schema.json' ? envelopeFile : null;
    if (base === null) throw new Error(`unexpected $ref ${schema.$ref}`);
    const extra = { ...schema };
    delete extra.$ref;
    let node = base;
    for (const part of pointer.split('/').slice(1)) node = node[part];
    schema = { ...node, ...extra };
  }
  return schema;
}
const facts = (schema, file) => {
  const s = resolve(schema, file);
  const pick = ['type', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'format', 'const', 'enum',
                'minProperties', 'dependentRequired'];
  const out = {};
  for (const k of pick) if (s[k] !== undefined) out[k] = s[k];
  if (out.type === undefined && out.const !== undefined) out.type = typeof out.const === 'number' ? 'integer' : 'string';
  if (out.type === undefined && out.enum !== undefined) out.type = 'string';
  if (Array.isArray(s.anyOf)) {
    // ["null", {string bounds}] in the envelope; a type union in the document.
    const types = s.anyOf.map((a) => a.type);
    out.type = types;
    for (const a of s.anyOf) for (const k of pick) if (k !== 'type' && a[k] !== undefined) out[k] = a[k];
  }
  if (Array.isArray(out.type)) out.type = [...out.type].sort();
  // The document states OpenAPI's int64 format on every integer; the event
  // schemas state the same bounds without it.
  if (out.format === 'int64') delete out.format;
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, facts(v, file)]));
    out.required = [...(s.required ?? [])].sort();
  }
  return out;
};
const stable = (v) => JSON.stringify(v, (k, x) =>
  (x && typeof x === 'object' && !Array.isArray(x)) ? Object.fromEntries(Object.entries(x).sort()) : x);

let bad = 0;
const compare = (what, theirs, ours) => {
  if (stable(theirs) === stable(ours)) {
    console.log(`ok\t${what} matches schemas/events`);
  } else {
    bad += 1;
    console.log(`FAIL\t${what} differs from schemas/events:\n    schemas/events: ${stable(theirs)}\n` +
                `    openapi.json:   ${stable(ours)}`);
  }
};
const inDoc = (schema) => {
  // Resolve the document's own refs for comparison.
  const withDoc = (s) => {
    while (s && s.$ref) {
      const extra = { ...s };
      delete extra.$ref;
      s = { ...components[s.$ref.replace('#/components/schemas/', '')], ...extra };
    }
    return s;
  };
  const walk = (s) => {
    s = withDoc(s);
    const copy = { ...s };
    if (s.properties) copy.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, walk(v)]));
    delete copy.oneOf;
    return copy;
  };
  return walk(schema);
};

const envelope = { ...envelopeFile.$defs.envelope };
compare('EventEnvelope', facts(envelope, envelopeFile), facts(inDoc(components.EventEnvelope), doc));
const types = envelopeFile.$defs.event_type.enum;
compare('EventType', types, components.EventType.enum);
for (const type of types) {
  const file = load(type);
  compare(`${type}Data`, facts(file.$defs.data, file), facts(inDoc(components[`${type}Data`]), doc));
}
const ourTypes = components.EventEnvelope.oneOf.map((s) => s.properties.type.const);
compare('EventEnvelope.oneOf types', [...types].sort(), [...ourTypes].sort());
process.exit(bad === 0 ? 0 : 1);
JS

run_checker() {
  node "$checker" "$@"
}

echo "== writing cases"
node "$work/cases.mjs" "$doc" "$work" || die "could not write the cases"

echo "== good answers pass"
if out=$(run_checker "$doc" "$work/all-good.ndjson" 2>&1); then
  pass "all good answers together: $(tail -n 1 <<<"$out")"
else
  fail "the good answers were rejected:"
  echo "$out"
fi
for f in "$work"/good/*.ndjson; do
  name=$(basename "$f" .ndjson)
  if out=$(run_checker "$doc" "$f" 2>&1); then
    pass "good/$name"
  else
    fail "good/$name was rejected:"
    echo "$out"
  fi
done

echo "== broken answers fail, each for its reason"
for f in "$work"/bad/*.ndjson; do
  name=$(basename "$f" .ndjson)
  expect=$(<"$work/bad/$name.expect")
  status=0
  out=$(run_checker "$doc" "$f" 2>&1) || status=$?
  if ((status != 1)); then
    fail "bad/$name: exit $status, want 1; output:"
    echo "$out"
  elif ! grep -qF -- "$expect" <<<"$out"; then
    fail "bad/$name: rejected, but not for '$expect'; output:"
    echo "$out"
  elif ! grep -q '0 passed, 1 failed' <<<"$out"; then
    fail "bad/$name: no summary line; output:"
    echo "$out"
  else
    pass "bad/$name rejected ($expect)"
  fi
done

status=0
out=$(run_checker "$doc" "$work/mixed.ndjson" 2>&1) || status=$?
if ((status == 1)) && grep -q 'mixed.ndjson:4: GET /api/posts/{id} 200' <<<"$out" &&
  grep -q ' 1 failed$' <<<"$out" && grep -q '^      body: "{' <<<"$out"; then
  pass "one broken answer among good ones fails the file, naming its line"
else
  fail "mixed file: exit $status; output:"
  echo "$out"
fi
for name in empty not-ndjson; do
  status=0
  out=$(run_checker "$doc" "$work/$name.ndjson" 2>&1) || status=$?
  if ((status == 1)); then
    pass "$name file fails"
  else
    fail "$name file: exit $status, want 1; output:"
    echo "$out"
  fi
done

echo "== usage errors"
status=0
run_checker "$doc" >/dev/null 2>&1 || status=$?
if ((status == 2)); then pass "one argument: exit 2"; else fail "one argument: exit $status, want 2"; fi
status=0
run_checker "$work/all-good.ndjson" "$work/all-good.ndjson" >/dev/null 2>&1 || status=$?
if ((status == 2)); then pass "not an OpenAPI document: exit 2"; else fail "not an OpenAPI document: exit $status, want 2"; fi

echo "== the document's event schemas agree with schemas/events"
if out=$(node "$work/sync.mjs" "$doc" "$repo_root/schemas/events" 2>&1); then
  sync_status=0
else
  sync_status=$?
fi
while IFS=$'\t' read -r verdict line; do
  case $verdict in
    ok) pass "$line" ;;
    FAIL) fail "$line" ;;
    *) echo "$verdict${line:+	$line}" ;;
  esac
done <<<"$out"
if ((sync_status != 0)) && ! grep -q '^FAIL' <<<"$out"; then
  fail "the event schema comparison did not run (exit $sync_status)"
fi

echo "check_responses_selftest: $passed passed, $failed failed"
((failed == 0))
