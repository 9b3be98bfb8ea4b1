// schema.js: checks Kubernetes objects against the Kubernetes API schemas, as packaged by the
// npm kubernetes-models (generated from the Kubernetes OpenAPI specification):
//   1. each object's model .validate(): types, required fields, enums, formats (ajv);
//   2. unknown fields, which those JSON schemas allow but the API server refuses (kubectl's
//      --validate=strict, the default): every field is looked up in the model's TypeScript
//      declarations, read with the TypeScript compiler's type checker.
// Each error names the object and the field path.
"use strict";
const path = require("path");
const ts = require("typescript");

const MODELS_DIR = path.dirname(require.resolve("kubernetes-models/package.json"));

// "apps/v1" -> "apps/v1", "v1" -> "v1", "networking.k8s.io/v1" -> "networking.k8s.io/v1"
function modelModule(apiVersion) {
  return `kubernetes-models/${apiVersion}`;
}

function modelClass(obj) {
  let mod;
  try {
    mod = require(modelModule(obj.apiVersion));
  } catch (e) {
    return null;
  }
  return typeof mod[obj.kind] === "function" ? mod[obj.kind] : null;
}

// ---- 2. unknown fields via the TypeScript declarations ------------------------------------

let checker = null;
const rootTypes = new Map(); // "apps/v1/StatefulSet" -> ts.Type of the model's interface

// One TypeScript program for every kind asked for so far (made again only for a new kind).
function loadTypes(objs) {
  const wanted = [...new Set([...rootTypes.keys(), ...objs.map((o) => `${o.apiVersion}/${o.kind}`)])];
  if (wanted.every((w) => rootTypes.has(w))) return;
  rootTypes.clear();
  const file = path.join(__dirname, "__types_check.ts");
  // One line per kind: "import type ... ; export declare const vN: TN;"
  const src = wanted.map((w, i) => {
    const kind = w.split("/").pop();
    const api = w.slice(0, -(kind.length + 1));
    return `import type { I${kind} as T${i} } from "kubernetes-models/${api}/${kind}"; export declare const v${i}: T${i};`;
  }).join("\n");
  const host = ts.createCompilerHost({});
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) =>
    f === file ? ts.createSourceFile(f, src, lang) : getSourceFile(f, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => f === file || fileExists(f);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => (f === file ? src : readFile(f));
  const program = ts.createProgram([file], {
    noEmit: true, strict: true, skipLibCheck: true, types: [],
    moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2020,
  }, host);
  const sf = program.getSourceFile(file);
  // a kind whose declarations are missing: its import fails; leave it out (reported later)
  const bad = new Set(ts.getPreEmitDiagnostics(program).filter((d) => d.file === sf)
    .map((d) => sf.getLineAndCharacterOfPosition(d.start).line));
  checker = program.getTypeChecker();
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) continue;
    const decl = st.declarationList.declarations[0];
    const idx = Number(decl.name.text.slice(1));
    if (!bad.has(idx)) rootTypes.set(wanted[idx], checker.getTypeAtLocation(decl.name));
  }
}

function withoutNullish(t) {
  if (!t.isUnion()) return [t];
  return t.types.filter((u) => !(u.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
}

// Unknown fields of value against type t (paths like /spec/template/spec/containers/0/bogus).
function unknownFields(value, t, at, out) {
  if (value === null || typeof value !== "object") return;
  const parts = withoutNullish(t);
  if (parts.some((p) => p.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.NonPrimitive))) return;
  if (Array.isArray(value)) {
    const elem = parts.map((p) => p.getNumberIndexType()).filter(Boolean);
    if (!elem.length) return; // a type mismatch: ajv reports it
    value.forEach((v, i) => unknownFields(v, elem.length === 1 ? elem[0] : checker.getUnionType(elem), `${at}/${i}`, out));
    return;
  }
  const objs = parts.filter((p) => p.flags & ts.TypeFlags.Object);
  if (!objs.length) return; // a type mismatch: ajv reports it
  for (const [k, v] of Object.entries(value)) {
    let propType = null;
    for (const o of objs) {
      const prop = checker.getPropertyOfType(o, k);
      if (prop) { propType = checker.getTypeOfSymbol(prop); break; }
      const idx = o.getStringIndexType();
      if (idx) { propType = idx; break; }
    }
    if (!propType) {
      out.push(`${at}/${k}: unknown field "${k}"`);
      continue;
    }
    unknownFields(v, propType, `${at}/${k}`, out);
  }
}

// ---- both ---------------------------------------------------------------------------------

function objName(o) {
  return `${o.kind}/${o.metadata && o.metadata.name}`;
}

// Returns a list of "Kind/name: /path: message" strings, empty when every object is valid.
function validateAll(objs) {
  loadTypes(objs);
  const errors = [];
  for (const o of objs) {
    const Model = modelClass(o);
    if (!Model) {
      errors.push(`${objName(o)}: no schema for apiVersion ${o.apiVersion} kind ${o.kind}`);
      continue;
    }
    const copy = JSON.parse(JSON.stringify(o));
    // kustomize writes long Secret values as base64 in lines of 70; the API server's decoder
    // (Go's encoding/base64) skips the newlines, the schema's "byte" format does not.
    if (o.kind === "Secret" && copy.data)
      for (const k of Object.keys(copy.data)) if (typeof copy.data[k] === "string") copy.data[k] = copy.data[k].replace(/[\r\n]/g, "");
    try {
      new Model(copy).validate();
    } catch (e) {
      const list = e.errors || [{ instancePath: "", message: e.message }];
      for (const er of list) {
        let msg = er.message;
        if (er.keyword === "enum" && er.params && er.params.allowedValues) msg += ` (${er.params.allowedValues.join(", ")})`;
        if (er.keyword === "required" && er.params) msg = `required field "${er.params.missingProperty}" is missing`;
        errors.push(`${objName(o)}: ${er.instancePath || "/"}: ${msg}`);
      }
    }
    const t = rootTypes.get(`${o.apiVersion}/${o.kind}`);
    if (!t) {
      errors.push(`${objName(o)}: no type declarations for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    const unknown = [];
    unknownFields(o, t, "", unknown);
    for (const u of unknown) errors.push(`${objName(o)}: ${u}`);
  }
  return errors;
}

module.exports = { validateAll, MODELS_DIR };
