// kustomize.js: renders a kustomization the way `kustomize build` does, for the subset of
// kustomize that deploy/k8s uses, so that the Kubernetes manifests can be checked on a machine
// without kustomize (Debian 12 packages none, and kubectl may be missing). Anything outside that
// subset is refused by name rather than rendered wrongly.
//
// Supported: resources (files, and directories holding a kustomization), namespace, labels
// (pairs, into metadata.labels only), images, replicas, patches (strategic merge or JSON 6902, inline or
// by path, with a target), configMapGenerator and secretGenerator (files, literals, envs;
// options and generatorOptions: disableNameSuffixHash, labels, annotations; behavior create)
// with kustomize's hash suffix and the references to generated names in pod templates.
// tests/integration/test_deploy_manifests.sh compares the result with `kubectl kustomize` when
// kubectl is there.
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const YAML = require("yaml");

class KustomizeError extends Error {}
const fail = (msg) => { throw new KustomizeError(msg); };

// kubectl reads YAML as YAML 1.1 (0440 is octal, yes/no are booleans): so do we.
function parseDocs(text, file) {
  const docs = YAML.parseAllDocuments(text, { version: "1.1" });
  const out = [];
  for (const d of docs) {
    if (d.errors.length) fail(`${file}: ${d.errors[0].message}`);
    const v = d.toJS({ maxAliasCount: 100 });
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

const KUSTOMIZATION_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const KNOWN_KEYS = new Set(["apiVersion", "kind", "namespace", "labels",
  "resources", "images", "replicas", "patches", "configMapGenerator", "secretGenerator",
  "generatorOptions"]);

// Kinds kustomize treats as cluster-scoped among those a deployment like ours could hold.
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding",
  "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass",
  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "IngressClass",
  "RuntimeClass", "APIService", "CSIDriver", "VolumeAttachment"]);

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

// ---- generators ---------------------------------------------------------------------------

// kustomize's hash suffix: sha256 of the JSON of {kind, name, data[, binaryData][, type]} as Go's
// encoding/json writes it (keys sorted, <, >, & and U+2028/9 escaped), hex, first 10 characters
// with 0 1 3 a e replaced. The name in it is empty: kustomize hashes the generated object before
// it is named (checked against kubectl kustomize: a=b gives x-4h2mbtbbt6 and s-k695gkmbtk).
function goJson(v) {
  if (Array.isArray(v)) return "[" + v.map(goJson).join(",") + "]";
  if (v && typeof v === "object")
    return "{" + Object.keys(v).sort().map((k) => goJson(k) + ":" + goJson(v[k])).join(",") + "}";
  if (typeof v === "string")
    return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  return JSON.stringify(v);
}
function nameHash(obj) {
  const m = { kind: obj.kind, name: "", data: obj.data || {} };
  if (obj.kind === "Secret") m.type = obj.type;
  if (obj.binaryData && Object.keys(obj.binaryData).length) m.binaryData = obj.binaryData;
  const hex = crypto.createHash("sha256").update(goJson(m)).digest("hex");
  const map = { 0: "g", 1: "h", 3: "k", a: "m", e: "t" };
  return [...hex.slice(0, 10)].map((c) => map[c] || c).join("");
}

// Secret data as kustomize encodes it: base64, in lines of 70 when longer (each line ended).
function base64Lines(buf) {
  const b = buf.toString("base64");
  if (b.length < 70) return b;
  let out = "";
  for (let i = 0; i < b.length; i += 70) out += b.slice(i, i + 70) + "\n";
  return out;
}

// kustomize's env file: KEY=VALUE per line, the value as written (quotes kept); blank lines and
// lines starting with # are skipped.
function parseEnvFile(text, file) {
  const out = [];
  text.replace(/^\uFEFF/, "").split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (!line.trim() || line.trimStart().startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) fail(`${file}:${i + 1}: not KEY=VALUE (a bare KEY would be read from the environment of kustomize; not supported)`);
    out.push([line.slice(0, eq).trimStart(), line.slice(eq + 1)]);
  });
  return out;
}

function generate(kind, gen, dir, globalOpts) {
  const known = new Set(["name", "namespace", "behavior", "files", "literals", "envs", "options", "type"]);
  for (const k of Object.keys(gen)) if (!known.has(k)) fail(`${kind} generator ${gen.name}: "${k}" is not supported by this renderer`);
  if (gen.behavior && gen.behavior !== "create") fail(`${kind} generator ${gen.name}: behavior ${gen.behavior} is not supported by this renderer`);
  const isSecret = kind === "Secret";
  const data = {}, binaryData = {};
  const put = (key, buf) => {
    if (key in data || key in binaryData) fail(`${kind} ${gen.name}: key ${key} is given twice`);
    if (isSecret) data[key] = base64Lines(buf);
    else {
      const s = buf.toString("utf8");
      if (Buffer.from(s, "utf8").equals(buf)) data[key] = s;
      else binaryData[key] = buf.toString("base64");
    }
  };
  for (const f of gen.files || []) {
    const eq = f.indexOf("=");
    const key = eq > 0 ? f.slice(0, eq) : path.basename(f);
    const p = path.resolve(dir, eq > 0 ? f.slice(eq + 1) : f);
    if (!fs.existsSync(p)) fail(`${kind} generator ${gen.name}: ${p} does not exist` +
      (p.includes(`${path.sep}secrets${path.sep}`) ? " (make it with deploy/make-secrets.sh)" : ""));
    put(key, fs.readFileSync(p));
  }
  for (const l of gen.literals || []) {
    const eq = l.indexOf("=");
    if (eq <= 0) fail(`${kind} generator ${gen.name}: literal "${l}" is not KEY=VALUE`);
    let v = l.slice(eq + 1);
    if (v.length >= 2 && ((v[0] === '"' && v.endsWith('"')) || (v[0] === "'" && v.endsWith("'")))) v = v.slice(1, -1);
    put(l.slice(0, eq), Buffer.from(v, "utf8"));
  }
  for (const e of gen.envs || []) {
    const p = path.resolve(dir, e);
    if (!fs.existsSync(p)) fail(`${kind} generator ${gen.name}: ${p} does not exist` +
      (p.includes(`${path.sep}secrets${path.sep}`) ? " (make it with deploy/make-secrets.sh)" : ""));
    for (const [k, v] of parseEnvFile(fs.readFileSync(p, "utf8"), p)) put(k, Buffer.from(v, "utf8"));
  }
  const opts = { ...(globalOpts || {}), ...(gen.options || {}) };
  for (const k of Object.keys(opts))
    if (!["disableNameSuffixHash", "labels", "annotations"].includes(k)) fail(`${kind} generator ${gen.name}: option ${k} is not supported by this renderer`);
  const obj = { apiVersion: "v1", kind, metadata: { name: gen.name } };
  if (gen.namespace) obj.metadata.namespace = gen.namespace;
  const labels = { ...((globalOpts || {}).labels || {}), ...((gen.options || {}).labels || {}) };
  const annotations = { ...((globalOpts || {}).annotations || {}), ...((gen.options || {}).annotations || {}) };
  if (Object.keys(labels).length) obj.metadata.labels = labels;
  if (Object.keys(annotations).length) obj.metadata.annotations = annotations;
  if (isSecret) obj.type = gen.type || "Opaque";
  if (Object.keys(data).length) obj.data = data;
  if (Object.keys(binaryData).length) obj.binaryData = binaryData;
  const generated = { origName: gen.name };
  if (!opts.disableNameSuffixHash) obj.metadata.name = `${gen.name}-${nameHash(obj)}`;
  Object.defineProperty(obj, "__generated", { value: generated, enumerable: false });
  return obj;
}

// ---- pod templates ------------------------------------------------------------------------

function podSpecOf(obj) {
  if (obj.kind === "Pod") return obj.spec;
  if (WORKLOADS.has(obj.kind)) return obj.spec && obj.spec.template && obj.spec.template.spec;
  if (obj.kind === "CronJob") return obj.spec?.jobTemplate?.spec?.template?.spec;
  return undefined;
}
function containersOf(spec) {
  return [...(spec.initContainers || []), ...(spec.containers || []), ...(spec.ephemeralContainers || [])];
}

// ---- patches ------------------------------------------------------------------------------

// Merge keys of the lists a strategic merge patch of a workload may meet (the Kubernetes API's
// patchMergeKey); a list not named here is replaced whole, as for lists without a merge key.
const MERGE_KEYS = {
  containers: "name", initContainers: "name", ephemeralContainers: "name", env: "name",
  volumes: "name", volumeMounts: "mountPath", volumeDevices: "devicePath", ports: "containerPort",
  imagePullSecrets: "name", tolerations: null, hostAliases: "ip", volumeClaimTemplates: null,
};
function smp(base, patch, key) {
  if (patch === null) return undefined;
  if (Array.isArray(patch)) {
    const mk = MERGE_KEYS[key];
    if (!mk || !Array.isArray(base)) return patch;
    // As kustomize orders a merged list: the patch's items first (merged with the base's item of
    // the same key), then the base's other items. (An env entry moved ahead still sees what it
    // refers to only if that is defined before it: the checks look at the rendered order.)
    const out = [], used = new Set();
    for (const item of patch) {
      if (item && typeof item === "object" && "$patch" in item) fail(`strategic merge patch: $patch directives are not supported by this renderer`);
      const i = base.findIndex((b) => b && item && b[mk] === item[mk]);
      if (i >= 0) used.add(i);
      out.push(i >= 0 ? smp(base[i], item, undefined) : item);
    }
    base.forEach((b, i) => { if (!used.has(i)) out.push(b); });
    return out;
  }
  if (patch && typeof patch === "object") {
    if (Object.keys(patch).some((k) => k.startsWith("$"))) fail(`strategic merge patch: directives (${Object.keys(patch).filter((k) => k.startsWith("$")).join(", ")}) are not supported by this renderer`);
    const out = base && typeof base === "object" && !Array.isArray(base) ? { ...base } : {};
    for (const [k, v] of Object.entries(patch)) {
      const m = smp(out[k], v, k);
      if (m === undefined) delete out[k];
      else out[k] = m;
    }
    return out;
  }
  return patch;
}

function jsonPointer(p) {
  if (p === "") return [];
  if (!p.startsWith("/")) fail(`JSON patch path "${p}" does not start with /`);
  return p.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}
function json6902(obj, ops) {
  const o = JSON.parse(JSON.stringify(obj));
  for (const op of ops) {
    const parts = jsonPointer(op.path);
    const last = parts.pop();
    let parent = o;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : parent?.[p];
      if (parent === undefined) fail(`JSON patch ${op.op} ${op.path}: no such path in ${obj.kind}/${obj.metadata.name}`);
    }
    const isArr = Array.isArray(parent);
    if (op.op === "add") {
      if (isArr) parent.splice(last === "-" ? parent.length : Number(last), 0, op.value);
      else parent[last] = op.value;
    } else if (op.op === "replace" || op.op === "remove") {
      if (isArr ? !(Number(last) < parent.length) : !(last in parent)) fail(`JSON patch ${op.op} ${op.path}: no such path in ${obj.kind}/${obj.metadata.name}`);
      if (op.op === "remove") isArr ? parent.splice(Number(last), 1) : delete parent[last];
      else parent[isArr ? Number(last) : last] = op.value;
    } else fail(`JSON patch op "${op.op}" is not supported by this renderer`);
  }
  return o;
}

function matchesTarget(obj, t) {
  const anchored = (re, s) => new RegExp(`^(?:${re})$`).test(s || "");
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  for (const k of Object.keys(t))
    if (!["kind", "name", "namespace", "group", "version", "labelSelector"].includes(k)) fail(`patch target: "${k}" is not supported by this renderer`);
  if (t.kind && !anchored(t.kind, obj.kind)) return false;
  if (t.name && !anchored(t.name, obj.metadata.name)) return false;
  if (t.namespace && !anchored(t.namespace, obj.metadata.namespace)) return false;
  if (t.group !== undefined && !anchored(t.group, group)) return false;
  if (t.version && !anchored(t.version, version)) return false;
  if (t.labelSelector) {
    const labels = obj.metadata.labels || {};
    for (const term of t.labelSelector.split(",")) {
      const [k, v] = term.split("=");
      if (v === undefined) fail(`patch target labelSelector "${term}": only key=value is supported by this renderer`);
      if (labels[k.trim()] !== v.trim()) return false;
    }
  }
  return true;
}

function applyPatches(objs, patches, dir) {
  for (const p of patches) {
    for (const k of Object.keys(p)) if (!["patch", "path", "target", "options"].includes(k)) fail(`patches: "${k}" is not supported by this renderer`);
    if (p.options) fail(`patches: options are not supported by this renderer`);
    const text = p.patch !== undefined ? p.patch : fs.readFileSync(path.resolve(dir, p.path), "utf8");
    const docs = parseDocs(text, p.path || "inline patch");
    if (docs.length !== 1) fail(`a patch must be one document (${p.path || "inline"})`);
    const doc = docs[0];
    let hit = 0;
    if (Array.isArray(doc)) {
      if (!p.target) fail("a JSON 6902 patch needs a target");
      objs.forEach((o, i) => { if (matchesTarget(o, p.target)) { objs[i] = keepHidden(o, json6902(o, doc)); hit++; } });
    } else {
      const target = p.target || { kind: doc.kind, name: doc.metadata && doc.metadata.name };
      objs.forEach((o, i) => {
        if (!matchesTarget(o, target)) return;
        const pd = JSON.parse(JSON.stringify(doc));
        if (p.target) { delete pd.metadata; delete pd.apiVersion; delete pd.kind; }
        const merged = smp(o, pd, undefined);
        if (p.target) merged.metadata = o.metadata, merged.apiVersion = o.apiVersion, merged.kind = o.kind;
        objs[i] = keepHidden(o, merged);
        hit++;
      });
    }
    if (!hit) fail(`patch ${p.path || "(inline)"} matches no resource`);
  }
}
function keepHidden(from, to) {
  if (from.__generated) Object.defineProperty(to, "__generated", { value: from.__generated, enumerable: false });
  return to;
}

// ---- transformers -------------------------------------------------------------------------

function setNamespace(objs, ns) {
  for (const o of objs) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = ns;
}

// labels: pairs -> metadata.labels of every object (not selectors, not templates).
function addLabels(objs, pairs) {
  for (const o of objs) o.metadata.labels = { ...(o.metadata.labels || {}), ...pairs };
}

function setImages(objs, images) {
  for (const im of images) {
    for (const k of Object.keys(im)) if (!["name", "newName", "newTag", "digest"].includes(k)) fail(`images: "${k}" is not supported by this renderer`);
    for (const o of objs) {
      const spec = podSpecOf(o);
      if (!spec) continue;
      for (const c of containersOf(spec)) {
        if (!c.image) continue;
        const m = /^(.*?)(?::([^:/@]+))?(?:@(.+))?$/.exec(c.image);
        if (m[1] !== im.name) continue;
        let img = im.newName || m[1];
        if (im.digest) img += "@" + im.digest;
        else if (im.newTag) img += ":" + im.newTag;
        else if (m[2]) img += ":" + m[2];
        else if (m[3]) img += "@" + m[3];
        c.image = img;
      }
    }
  }
}

function setReplicas(objs, replicas) {
  for (const r of replicas) {
    let hit = 0;
    for (const o of objs)
      if (["Deployment", "StatefulSet", "ReplicaSet"].includes(o.kind) && o.metadata.name === r.name) { o.spec.replicas = r.count; hit++; }
    if (!hit) fail(`replicas: no Deployment, StatefulSet or ReplicaSet named ${r.name}`);
  }
}

// References from pod templates to generated ConfigMaps and Secrets follow their hashed names.
function fixNameReferences(objs) {
  const names = { ConfigMap: new Map(), Secret: new Map() };
  for (const o of objs)
    if (o.__generated) names[o.kind].set(`${o.metadata.namespace || ""}/${o.__generated.origName}`, o.metadata.name);
  const rename = (kind, ns, n) => names[kind].get(`${ns || ""}/${n}`) || n;
  for (const o of objs) {
    const spec = podSpecOf(o);
    if (!spec) continue;
    const ns = o.metadata.namespace;
    for (const v of spec.volumes || []) {
      if (v.configMap) v.configMap.name = rename("ConfigMap", ns, v.configMap.name);
      if (v.secret) v.secret.secretName = rename("Secret", ns, v.secret.secretName);
      for (const s of (v.projected && v.projected.sources) || []) {
        if (s.configMap) s.configMap.name = rename("ConfigMap", ns, s.configMap.name);
        if (s.secret) s.secret.name = rename("Secret", ns, s.secret.name);
      }
    }
    for (const s of spec.imagePullSecrets || []) s.name = rename("Secret", ns, s.name);
    for (const c of containersOf(spec)) {
      for (const e of c.env || []) {
        const vf = e.valueFrom || {};
        if (vf.configMapKeyRef) vf.configMapKeyRef.name = rename("ConfigMap", ns, vf.configMapKeyRef.name);
        if (vf.secretKeyRef) vf.secretKeyRef.name = rename("Secret", ns, vf.secretKeyRef.name);
      }
      for (const e of c.envFrom || []) {
        if (e.configMapRef) e.configMapRef.name = rename("ConfigMap", ns, e.configMapRef.name);
        if (e.secretRef) e.secretRef.name = rename("Secret", ns, e.secretRef.name);
      }
    }
  }
}

// ---- the build ----------------------------------------------------------------------------

function findKustomization(dir) {
  for (const n of KUSTOMIZATION_NAMES) if (fs.existsSync(path.join(dir, n))) return path.join(dir, n);
  return null;
}

function buildLevel(dir) {
  const kfile = findKustomization(dir);
  if (!kfile) fail(`${dir}: no kustomization.yaml`);
  const docs = parseDocs(fs.readFileSync(kfile, "utf8"), kfile);
  if (docs.length !== 1) fail(`${kfile}: must be one document`);
  const k = docs[0];
  for (const key of Object.keys(k)) if (!KNOWN_KEYS.has(key)) fail(`${kfile}: "${key}" is not supported by this renderer`);
  let objs = [];
  for (const r of k.resources || []) {
    const p = path.resolve(dir, r);
    if (!fs.existsSync(p)) fail(`${kfile}: resource ${r} does not exist`);
    if (fs.statSync(p).isDirectory()) objs.push(...buildLevel(p));
    else for (const d of parseDocs(fs.readFileSync(p, "utf8"), p)) {
      if (!d.kind || !d.apiVersion || !d.metadata || !d.metadata.name) fail(`${p}: a document without apiVersion, kind or metadata.name`);
      objs.push(d);
    }
  }
  for (const g of k.configMapGenerator || []) objs.push(generate("ConfigMap", g, dir, k.generatorOptions));
  for (const g of k.secretGenerator || []) objs.push(generate("Secret", g, dir, k.generatorOptions));
  // kustomize's order of builtin transformers: patches, namespace, labels, replicas, images.
  if (k.patches) applyPatches(objs, k.patches, dir);
  if (k.namespace) setNamespace(objs, k.namespace);
  for (const l of k.labels || []) {
    for (const key of Object.keys(l)) if (key !== "pairs") fail(`${kfile}: labels.${key} is not supported by this renderer`);
    addLabels(objs, l.pairs || {});
  }
  if (k.replicas) setReplicas(objs, k.replicas);
  if (k.images) setImages(objs, k.images);
  const seen = new Set();
  for (const o of objs) {
    const id = `${o.kind}/${o.metadata.namespace || ""}/${o.metadata.name}`;
    if (seen.has(id)) fail(`${kfile}: ${id} is defined twice`);
    seen.add(id);
  }
  return objs;
}

function build(dir) {
  const objs = buildLevel(path.resolve(dir));
  fixNameReferences(objs);
  return objs;
}

module.exports = { build, parseDocs, KustomizeError, podSpecOf, containersOf, CLUSTER_SCOPED };
