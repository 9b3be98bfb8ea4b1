#!/usr/bin/env node
// Checks deploy/k8s without a cluster and without kustomize (tests/integration/
// test_deploy_manifests.sh runs it; `npm ci` here installs what it needs):
//
//   k8s-validate.js check DIR...             render each kustomization (kustomize.js), validate
//                                            every object against the Kubernetes schemas
//                                            (schema.js) and their references to each other
//                                            (crossref.js); exit 1 naming each object and field
//   k8s-validate.js render DIR               the rendering, as YAML
//   k8s-validate.js compare DIR FILE         the rendering against FILE (`kubectl kustomize DIR`):
//                                            the same objects, field for field
//   k8s-validate.js plan DIR OUT OPTIONS     processes to run the rendered pods here (plan.js)
//   k8s-validate.js compose-plan FILE OUT OPTIONS   the same from `docker-compose config`
//     OPTIONS: --port-base N --root DIR --bin DIR
"use strict";
const fs = require("fs");
const YAML = require("yaml");
const { build, parseDocs, KustomizeError } = require("./kustomize.js");
const { validateAll } = require("./schema.js");
const { crossCheck } = require("./crossref.js");
const { k8sPlan, composePlan } = require("./plan.js");

const die = (msg, code = 2) => { process.stderr.write(msg + "\n"); process.exit(code); };

function options(args) {
  const o = {};
  for (let i = 0; i < args.length; i += 2) {
    const k = { "--port-base": "portBase", "--root": "root", "--bin": "binDir" }[args[i]];
    if (!k || args[i + 1] === undefined) die(`unknown option ${args[i]}`);
    o[k] = k === "portBase" ? Number(args[i + 1]) : args[i + 1];
  }
  if (!o.portBase || !o.root || !o.binDir) die("plan needs --port-base N --root DIR --bin DIR");
  return o;
}

function render(dir) {
  try {
    return build(dir);
  } catch (e) {
    if (e instanceof KustomizeError) die(`${dir}: cannot render: ${e.message}`, 1);
    throw e;
  }
}

function diffPath(a, b, at) {
  if (JSON.stringify(a) === JSON.stringify(b)) return null;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = diffPath(a[k], b[k], `${at}/${k}`);
      if (d) return d;
    }
    return null;
  }
  return `${at || "/"}: ours ${JSON.stringify(a)}, kubectl's ${JSON.stringify(b)}`;
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "check") {
  if (!args.length) die("check DIR...");
  let bad = 0;
  for (const dir of args) {
    let objs;
    try {
      objs = build(dir);
    } catch (e) {
      if (!(e instanceof KustomizeError)) throw e;
      console.log(`${dir}: cannot render: ${e.message}`);
      bad++;
      continue;
    }
    const errors = validateAll(objs);
    const { errors: xerr, counts } = crossCheck(objs);
    for (const e of [...errors, ...xerr]) console.log(`${dir}: ${e}`);
    bad += errors.length + xerr.length;
    const kinds = {};
    for (const o of objs) kinds[o.kind] = (kinds[o.kind] || 0) + 1;
    const n = errors.length + xerr.length;
    console.log(`${dir}: ${objs.length} objects (${Object.entries(kinds).map(([k, v]) => `${v} ${k}`).join(", ")}): ` +
      `schema ${errors.length ? `${errors.length} errors` : "valid"}; cross-references (${counts.selectors} selectors, ` +
      `${counts.references} ConfigMap/Secret references, ${counts.ports} ports, ${counts.volumes} volumes and mounts, ` +
      `${counts.variables} $(VAR) expansions) ${xerr.length ? `${xerr.length} errors` : "hold"}${n ? "" : ": OK"}`);
  }
  process.exit(bad ? 1 : 0);
} else if (cmd === "render") {
  const objs = render(args[0]);
  process.stdout.write(objs.map((o) => YAML.stringify(o, { version: "1.1" })).join("---\n"));
} else if (cmd === "compare") {
  const ours = render(args[0]);
  const theirs = parseDocs(fs.readFileSync(args[1], "utf8"), args[1]);
  const key = (o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace || ""}/${o.metadata.name}`;
  const A = new Map(ours.map((o) => [key(o), JSON.parse(JSON.stringify(o))]));
  const B = new Map(theirs.map((o) => [key(o), o]));
  const diffs = [];
  for (const [k, o] of A) {
    if (!B.has(k)) diffs.push(`${k}: only in ours`);
    else { const d = diffPath(o, B.get(k), ""); if (d) diffs.push(`${k}: ${d}`); }
  }
  for (const k of B.keys()) if (!A.has(k)) diffs.push(`${k}: only in kubectl's`);
  for (const d of diffs) console.log(`${args[0]}: ${d}`);
  console.log(`${args[0]}: ${A.size} objects rendered, ${B.size} by kubectl kustomize, ${diffs.length} differences`);
  process.exit(diffs.length ? 1 : 0);
} else if (cmd === "plan") {
  const objs = render(args[0]);
  const planned = k8sPlan(objs, { out: args[1], ...options(args.slice(2)) });
  console.log(`${args[0]}: ${planned.length} pods planned: ${planned.map((p) => p.name).join(" ")}`);
} else if (cmd === "compose-plan") {
  const cfg = YAML.parse(fs.readFileSync(args[0], "utf8"), { version: "1.1" });
  const planned = composePlan(cfg, { out: args[1], ...options(args.slice(2)) });
  console.log(`${args[0]}: ${planned.length} services planned: ${planned.map((p) => p.name).join(" ")}`);
} else {
  die("usage: k8s-validate.js check DIR... | render DIR | compare DIR FILE | plan DIR OUT OPTIONS | compose-plan FILE OUT OPTIONS");
}
