#!/usr/bin/env bash
# Checks real events against schemas/events/*.schema.json, and checks that the
# schemas can fail.
#
# Usage: schema_test.sh EVENT_SAMPLES_BINARY REPO_ROOT AJV_BIN
#
# EVENT_SAMPLES_BINARY DIR writes DIR/<TypeName>.json for every event type: a
# JSON array of envelopes read back from a real RocksDB log. This script then
#   1. requires exactly one non-empty sample file per schema (and no strays),
#   2. validates every sample event against its type's schema (ajv, draft
#      2020-12, strict mode, formats on),
#   3. mutates the first sample of each type in ways the schemas must reject
#      (a missing required field, an unknown field, a number sent as a string,
#      ...) and requires ajv to reject each mutant for exactly that reason.
# Exits 0 only when every check passed; prints each failure.
set -euo pipefail

die() {
  echo "schema_test: error: $*" >&2
  exit 2
}

[[ $# -eq 3 ]] || die "usage: $0 EVENT_SAMPLES_BINARY REPO_ROOT AJV_BIN"
samples_bin=$1
repo_root=$2
ajv_bin=$3
schema_dir=$repo_root/schemas/events
envelope_schema=$schema_dir/envelope.schema.json

[[ -x $samples_bin ]] || die "event samples program '$samples_bin' is not an executable file"
[[ -f $envelope_schema ]] || die "no envelope schema at '$envelope_schema' (is '$repo_root' the repo root?)"
[[ -x $ajv_bin ]] || die "ajv not found at '$ajv_bin'; install the node tools with 'ops/dev deps'"
command -v node >/dev/null || die "node is not on PATH; install it with 'ops/dev deps'"

work=$(mktemp -d "${TMPDIR:-/tmp}/schema_test.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

types=()
for schema in "$schema_dir"/*.schema.json; do
  name=$(basename "$schema" .schema.json)
  [[ $name == envelope ]] || types+=("$name")
done
((${#types[@]} > 0)) || die "no event schemas in '$schema_dir'"

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

# The JSON work (splitting arrays, mutating events, reading ajv's error
# reports) is done by this helper; bash only runs programs and counts.
cat >"$work/helper.js" <<'JS'
'use strict';
const fs = require('fs');
const path = require('path');

// Each mutant names the ajv errors (keyword@instancePath) that must be, all
// and only, what ajv reports for it.
function mutations(type, event) {
  const common = [
    ['unknown-top-level-field', (e) => { e.unexpected_field = 'x'; },
     ['unevaluatedProperties@']],
    ['unknown-data-field', (e) => { e.data.unexpected_field = 1; }, ['additionalProperties@/data']],
    ['missing-envelope-field', (e) => { delete e.prev_hash; }, ['required@']],
    ['uppercase-hash', (e) => { e.hash = 'A'.repeat(64); }, ['pattern@/hash']],
    ['position-zero', (e) => { e.position = 0; }, ['minimum@/position']],
    ['position-as-string', (e) => { e.position = String(e.position); }, ['type@/position']],
    ['timestamp-without-micros', (e) => { e.recorded_at = e.recorded_at.replace(/\.\d+Z$/, 'Z'); },
     ['pattern@/recorded_at']],
    ['other-type-name', (e) => { e.type = type === 'PostFunded' ? 'PostCreated' : 'PostFunded'; },
     ['const@/type']],
  ];
  const specific = {
    PostCreated: [
      ['missing-title', (e) => { delete e.data.title; }, ['required@/data']],
      ['target-as-string', (e) => { e.data.target_amount = String(e.data.target_amount); },
       ['type@/data/target_amount']],
      ['impossible-end-date', (e) => { e.data.end_date = '2027-02-30'; }, ['format@/data/end_date']],
      ['version-2-without-model', (e) => { delete e.data.funding_model; },
       ['required@/data', 'if@']],
      ['unknown-model', (e) => { e.data.funding_model = 'keep_some'; },
       ['enum@/data/funding_model']],
      ['limit-over-bound', (e) => { e.data.max_fundings_per_backer = 10001; },
       ['type@/data/max_fundings_per_backer', 'maximum@/data/max_fundings_per_backer',
        'anyOf@/data/max_fundings_per_backer']],
      ['version-1-with-terms', (e) => { e.schema_version = 1; },
       ['false schema@/data/funding_model', 'false schema@/data/max_fundings_per_backer', 'if@']],
    ],
    PostEdited: [
      ['empty-data', (e) => { e.data = {}; }, ['minProperties@/data']],
      ['end-date-without-closes-at', (e) => { e.data = { end_date: '2030-01-01' }; },
       ['dependentRequired@/data']],
      ['funding-unit-as-string',
       (e) => { e.data.funding_unit = String(e.data.funding_unit ?? 1000); },
       ['type@/data/funding_unit']],
      ['target-edited', (e) => { e.data.target_amount = 1; }, ['additionalProperties@/data']],
    ],
    PostDeleted: [
      ['missing-refunded-amount', (e) => { delete e.data.refunded_amount; }, ['required@/data']],
      ['refunded-amount-as-string',
       (e) => { e.data.refunded_amount = String(e.data.refunded_amount); },
       ['type@/data/refunded_amount']],
    ],
    PostFunded: [
      ['missing-backer', (e) => { delete e.data.backer; }, ['required@/data']],
      ['units-as-string', (e) => { e.data.units = String(e.data.units); }, ['type@/data/units']],
      ['amount-as-string', (e) => { e.data.amount = String(e.data.amount); },
       ['type@/data/amount']],
      ['units-over-limit', (e) => { e.data.units = 10001; }, ['maximum@/data/units']],
    ],
    FundingRefunded: [
      ['missing-backer', (e) => { delete e.data.backer; }, ['required@/data']],
      ['amount-as-string', (e) => { e.data.amount = String(e.data.amount); },
       ['type@/data/amount']],
      ['units-zero', (e) => { e.data.units = 0; }, ['minimum@/data/units']],
    ],
    FundingCancelled: [
      ['missing-funding-position', (e) => { delete e.data.funding_position; }, ['required@/data']],
      ['units-over-limit', (e) => { e.data.units = 10001; }, ['maximum@/data/units']],
      ['version-1', (e) => { e.schema_version = 1; }, ['const@/schema_version']],
    ],
    PostSettled: [
      ['unknown-outcome', (e) => { e.data.outcome = 'FAILED'; }, ['enum@/data/outcome']],
      ['negative-total', (e) => { e.data.total_funded = -1; }, ['minimum@/data/total_funded']],
      ['actor-not-system', (e) => { e.actor = 'alice'; }, ['const@/actor']],
      ['version-1', (e) => { e.schema_version = 1; }, ['const@/schema_version']],
    ],
  };
  if (!(type in specific)) throw new Error(`no mutations defined for event type ${type}`);
  return common.concat(specific[type]).map(([name, mutate, expected]) => {
    const copy = JSON.parse(JSON.stringify(event));
    mutate(copy);
    return { name, event: copy, expected };
  });
}

// prepare SAMPLES_DIR WORK_DIR TYPE...: one file per sample event under
// WORK_DIR/valid/TYPE/, one per mutant under WORK_DIR/mutants/TYPE/, and
// WORK_DIR/mutants.tsv listing "type<TAB>name<TAB>file<TAB>expected,...".
function prepare(samplesDir, workDir, types) {
  const problems = [];
  const manifest = [];
  for (const type of types) {
    const file = path.join(samplesDir, `${type}.json`);
    if (!fs.existsSync(file)) {
      problems.push(`${type}: the samples program wrote no ${file}`);
      continue;
    }
    let events;
    try {
      events = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`${type}: ${file} is not JSON: ${err.message}`);
      continue;
    }
    if (!Array.isArray(events) || events.length === 0) {
      problems.push(`${type}: ${file} must be a non-empty JSON array of events`);
      continue;
    }
    const validDir = path.join(workDir, 'valid', type);
    const mutantDir = path.join(workDir, 'mutants', type);
    fs.mkdirSync(validDir, { recursive: true });
    fs.mkdirSync(mutantDir, { recursive: true });
    events.forEach((event, i) => {
      const name = `${type}[${i}]`;
      fs.writeFileSync(path.join(validDir, `${String(i).padStart(6, '0')}.json`),
                       JSON.stringify(event));
      if (event === null || typeof event !== 'object' || Array.isArray(event)) {
        problems.push(`${name}: not a JSON object`);
      }
    });
    if (problems.length > 0) continue;
    for (const m of mutations(type, events[0])) {
      const out = path.join(mutantDir, `${m.name}.json`);
      fs.writeFileSync(out, JSON.stringify(m.event));
      manifest.push([type, m.name, out, m.expected.join(',')].join('\t'));
    }
  }
  const known = new Set(types.map((t) => `${t}.json`));
  for (const f of fs.readdirSync(samplesDir)) {
    if (!known.has(f)) problems.push(`samples file ${f} has no schema in schemas/events`);
  }
  fs.writeFileSync(path.join(workDir, 'mutants.tsv'), manifest.map((l) => l + '\n').join(''));
  if (problems.length > 0) {
    for (const p of problems) console.log(`FAIL  ${p}`);
    process.exit(1);
  }
}

// verdicts TYPE AJV_OUTPUT MANIFEST: AJV_OUTPUT is what one ajv run
// (--errors=json --all-errors) printed for all of TYPE's mutants. Each mutant
// must be reported invalid with exactly its expected keyword@instancePath set.
// Prints one "ok<TAB>what" or "FAIL<TAB>what" line per mutant, with details
// after a FAIL line on lines that start with a space.
function verdicts(type, outputFile, manifestFile) {
  const text = fs.readFileSync(outputFile, 'utf8');
  const mutants = fs.readFileSync(manifestFile, 'utf8').split('\n').filter((l) => l !== '')
    .map((l) => l.split('\t')).filter(([t]) => t === type)
    .map(([, name, file, expected]) => ({ name, file, expected }));
  // Where each mutant's report starts; a report runs to the next one.
  const starts = [];
  for (const m of mutants) {
    for (const verdict of ['valid', 'invalid']) {
      const at = text.indexOf(`${m.file} ${verdict}\n`);
      if (at >= 0) starts.push({ at, m, verdict, body: at + `${m.file} ${verdict}\n`.length });
    }
  }
  starts.sort((a, b) => a.at - b.at);
  const indent = (s) => s.replace(/^/gm, '    ');
  for (const m of mutants) {
    const what = `${type}/${m.name}`;
    const i = starts.findIndex((s) => s.m === m);
    if (i < 0) {
      console.log(`FAIL\t${what}: ajv printed no verdict for it; its output:\n${indent(text)}`);
      continue;
    }
    const s = starts[i];
    if (s.verdict === 'valid') {
      console.log(`FAIL\t${what}: ajv ACCEPTED the mutant (want rejection: ${m.expected})`);
      continue;
    }
    const end = i + 1 < starts.length ? starts[i + 1].at : text.length;
    let errors;
    try {
      errors = JSON.parse(text.slice(s.body, end));
    } catch (err) {
      console.log(`FAIL\t${what}: cannot read ajv's report (${err.message}):\n${indent(text)}`);
      continue;
    }
    const got = [...new Set(errors.map((e) => `${e.keyword}@${e.instancePath}`))].sort();
    const want = [...new Set(m.expected.split(','))].sort();
    if (JSON.stringify(got) === JSON.stringify(want)) {
      console.log(`ok\t${what} rejected (${m.expected})`);
    } else {
      console.log(`FAIL\t${what}: rejected for the wrong reason: want ${want.join(' ')}, ` +
                  `got ${got.join(' ')}\n${indent(JSON.stringify(errors, null, 2))}`);
    }
  }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'prepare') prepare(args[0], args[1], args.slice(2));
else if (cmd === 'verdicts') verdicts(args[0], args[1], args[2]);
else throw new Error(`unknown helper command ${cmd}`);
JS

ajv_validate() {
  "$ajv_bin" validate --spec=draft2020 --strict=true --all-errors --errors=json \
    -c ajv-formats -s "$schema_dir/$1.schema.json" -r "$envelope_schema" "${@:2}"
}

echo "== writing samples with $samples_bin"
mkdir "$work/samples"
if ! "$samples_bin" "$work/samples"; then
  fail "the event samples program exited non-zero"
  echo "schema_test: $passed passed, $failed failed"
  exit 1
fi

echo "== checking the sample files"
if node "$work/helper.js" prepare "$work/samples" "$work" "${types[@]}"; then
  pass "one non-empty sample array per event type (${types[*]})"
else
  failed=$((failed + 1))
  echo "schema_test: $passed passed, $failed failed"
  exit 1
fi

echo "== validating every sample event"
for type in "${types[@]}"; do
  data_args=()
  for f in "$work/valid/$type"/*.json; do
    data_args+=(-d "$f")
  done
  count=$((${#data_args[@]} / 2))
  if out=$(ajv_validate "$type" "${data_args[@]}" 2>&1); then
    valid=$(grep -c ' valid$' <<<"$out" || true)
    if [[ $valid -eq $count ]]; then
      pass "$type: all $count sample events valid"
    else
      fail "$type: ajv reported $valid of $count sample events valid"
      echo "$out"
    fi
  else
    fail "$type: sample events rejected by $type.schema.json"
    echo "$out"
  fi
done

echo "== checking that the schemas reject broken events"
for type in "${types[@]}"; do
  data_args=()
  while IFS=$'\t' read -r mutant_type _ file _; do
    [[ $mutant_type == "$type" ]] && data_args+=(-d "$file")
  done <"$work/mutants.tsv"
  out_file=$work/mutants/$type.ajv.txt
  # Every mutant is invalid, so ajv must exit non-zero; the verdicts below
  # check each one's reasons.
  if ajv_validate "$type" "${data_args[@]}" >"$out_file" 2>&1; then
    fail "$type: ajv accepted every mutant"
    cat "$out_file"
    continue
  fi
  if ! verdicts=$(node "$work/helper.js" verdicts "$type" "$out_file" "$work/mutants.tsv"); then
    fail "$type: could not read ajv's verdicts on the mutants"
    continue
  fi
  while IFS=$'\t' read -r verdict line; do
    case $verdict in
      ok) pass "$line" ;;
      FAIL) fail "$line" ;;
      *) echo "$verdict${line:+	$line}" ;;
    esac
  done <<<"$verdicts"
done

echo "schema_test: $passed passed, $failed failed"
((failed == 0))
