// node check_dashboard.mjs DASHBOARD.json
//
// Checks that ops/grafana/dashboard.json is an importable Grafana dashboard
// of the shape docs/operations.md#monitoring promises: valid JSON, a uid and
// the title "funding-ledger", schemaVersion 37 or 38 (Grafana 9.4 to 10), no
// fixed id, a `datasource` variable of type prometheus that every panel,
// target and query variable uses, non-empty PromQL in every target, unique
// panel ids and a grid without overlaps, and no undefined `$variable`.
//
// Then it breaks copies of the dashboard on purpose and requires each to be
// refused, so that a checker that checks nothing cannot pass.
//
// Whether the metric names in the expressions exist is checked against the
// live /metrics output by e2e_metrics_test (tests/e2e/metrics_e2e_test.cc).
import { readFileSync } from "node:fs";

const kDatasource = { type: "prometheus", uid: "${datasource}" };
// Grafana's own variables, usable in any expression.
const kBuiltinVariables = new Set([
  "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
  "__from", "__to", "__dashboard", "__name",
]);
const kMinPanels = 20;

function sameDatasource(ds) {
  return ds !== null && typeof ds === "object" && ds.type === kDatasource.type &&
    ds.uid === kDatasource.uid;
}

// Every panel, rows' nested panels (collapsed rows) included.
function allPanels(dashboard) {
  const out = [];
  for (const p of dashboard.panels ?? []) {
    out.push(p);
    if (p.type === "row" && Array.isArray(p.panels)) out.push(...p.panels);
  }
  return out;
}

// Problems found in the dashboard's JSON text; empty when it is fine.
function check(text) {
  const problems = [];
  let d;
  try {
    d = JSON.parse(text);
  } catch (e) {
    return [`not valid JSON: ${e.message}`];
  }
  if (d === null || typeof d !== "object" || Array.isArray(d)) return ["not a JSON object"];
  if (d.title !== "funding-ledger") problems.push(`title is ${JSON.stringify(d.title)}, not "funding-ledger"`);
  if (typeof d.uid !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) {
    problems.push(`uid ${JSON.stringify(d.uid)} is not 1..40 of [A-Za-z0-9_-]`);
  }
  if (d.schemaVersion !== 37 && d.schemaVersion !== 38) {
    problems.push(`schemaVersion ${d.schemaVersion} is not 37 or 38`);
  }
  if (d.id !== null && d.id !== undefined) problems.push(`id ${d.id} must be null: an import would clash`);

  const variables = d.templating?.list;
  if (!Array.isArray(variables)) {
    problems.push("no templating.list");
    return problems;
  }
  const names = new Set(variables.map((v) => v.name));
  const dsVar = variables.find((v) => v.name === "datasource");
  if (!dsVar || dsVar.type !== "datasource" || dsVar.query !== "prometheus") {
    problems.push('no variable "datasource" of type datasource with query "prometheus"');
  }
  for (const v of variables) {
    if (v.type === "query" && !sameDatasource(v.datasource)) {
      problems.push(`variable ${v.name} does not query \${datasource}`);
    }
  }

  const panels = allPanels(d);
  const seenIds = new Set();
  const boxes = [];
  let queryPanels = 0;
  for (const p of panels) {
    const where = `panel ${p.id} "${p.title}"`;
    if (!Number.isInteger(p.id) || seenIds.has(p.id)) problems.push(`${where}: id missing or repeated`);
    seenIds.add(p.id);
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.w < 1 || g.h < 1 || g.x < 0 ||
        g.y < 0 || g.x + g.w > 24) {
      problems.push(`${where}: gridPos ${JSON.stringify(g)} is not inside the 24-column grid`);
    } else {
      for (const [other, b] of boxes) {
        if (g.x < b.x + b.w && b.x < g.x + g.w && g.y < b.y + b.h && b.y < g.y + g.h) {
          problems.push(`${where} overlaps panel ${other}`);
        }
      }
      boxes.push([p.id, g]);
    }
    if (p.type === "row") continue;
    queryPanels++;
    if (!sameDatasource(p.datasource)) problems.push(`${where}: datasource is not \${datasource}`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) {
      problems.push(`${where}: no targets`);
      continue;
    }
    const refIds = new Set();
    for (const t of p.targets) {
      if (typeof t.expr !== "string" || t.expr.trim() === "") problems.push(`${where}: a target has no expr`);
      if (t.datasource !== undefined && !sameDatasource(t.datasource)) {
        problems.push(`${where}: target ${t.refId} datasource is not \${datasource}`);
      }
      if (!t.refId || refIds.has(t.refId)) problems.push(`${where}: refId missing or repeated`);
      refIds.add(t.refId);
      for (const m of String(t.expr).matchAll(/\$\{?(\w+)/g)) {
        if (!names.has(m[1]) && !kBuiltinVariables.has(m[1])) {
          problems.push(`${where}: expr uses undefined variable $${m[1]}`);
        }
      }
    }
  }
  if (queryPanels < kMinPanels) problems.push(`only ${queryPanels} panels with queries (at least ${kMinPanels})`);
  return problems;
}

// Copies of the dashboard broken in one way each; every one must be refused.
function mutants(text) {
  const base = () => JSON.parse(text);
  const firstQueryPanel = (d) => allPanels(d).find((p) => p.type !== "row");
  const out = {
    "truncated JSON": text.slice(0, text.length / 2),
  };
  const add = (name, mutate) => {
    const d = base();
    mutate(d);
    out[name] = JSON.stringify(d);
  };
  add("panel without the datasource variable", (d) => {
    firstQueryPanel(d).datasource = { type: "prometheus", uid: "my-prometheus" };
  });
  add("no uid", (d) => delete d.uid);
  add("other title", (d) => (d.title = "Funding Ledger"));
  add("schemaVersion 30", (d) => (d.schemaVersion = 30));
  add("no datasource variable", (d) => {
    d.templating.list = d.templating.list.filter((v) => v.name !== "datasource");
  });
  add("empty expr", (d) => (firstQueryPanel(d).targets[0].expr = " "));
  add("undefined variable", (d) => (firstQueryPanel(d).targets[0].expr += ' + on() vector($nope)'));
  add("overlapping panels", (d) => {
    const [a, b] = allPanels(d).filter((p) => p.type !== "row");
    b.gridPos = { ...a.gridPos };
  });
  add("repeated id", (d) => {
    const [a, b] = allPanels(d).filter((p) => p.type !== "row");
    b.id = a.id;
  });
  return out;
}

const file = process.argv[2];
if (!file) {
  console.error("usage: node check_dashboard.mjs DASHBOARD.json");
  process.exit(2);
}
const text = readFileSync(file, "utf8");
const problems = check(text);
if (problems.length > 0) {
  console.error(`FAIL: ${file}:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
for (const [name, broken] of Object.entries(mutants(text))) {
  if (check(broken).length === 0) {
    console.error(`FAIL: the checker accepted a broken dashboard (${name}): it is blind`);
    process.exit(1);
  }
}
console.log(`ok: ${file}: ${allPanels(JSON.parse(text)).length} panels; broken copies are refused`);
