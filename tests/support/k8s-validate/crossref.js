// crossref.js: what the schemas cannot see, the references between objects of a rendering:
// selectors that select something, ports and volumes that exist, ConfigMaps and Secrets and
// their keys that are there, $(VAR) references that kubelet can expand. Each error names the
// object and the field.
"use strict";
const { podSpecOf, CLUSTER_SCOPED } = require("./kustomize.js");

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

function selects(selector, labels) {
  if (!selector) return false;
  labels = labels || {};
  const ml = selector.matchLabels || {};
  const exprs = selector.matchExpressions || [];
  if (!Object.keys(ml).length && !exprs.length) return true; // {} selects everything
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of exprs) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const inVals = has && (e.values || []).includes(labels[e.key]);
    if (e.operator === "In" && !inVals) return false;
    if (e.operator === "NotIn" && inVals) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}
const selectsMap = (map, labels) => selects({ matchLabels: map }, labels);

// The $(NAME) references kubelet would expand in s (its syntax: $$ is a literal $; an
// unclosed $( is left alone).
function varRefs(s) {
  const refs = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "$" || i + 1 >= s.length) continue;
    if (s[i + 1] === "$") { i++; continue; }
    if (s[i + 1] !== "(") continue;
    const close = s.indexOf(")", i + 2);
    if (close < 0) continue;
    refs.push(s.slice(i + 2, close));
    i = close;
  }
  return refs;
}
const looksLikeVar = (n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n);

function crossCheck(objs) {
  const errors = [];
  const err = (o, field, msg) => errors.push(`${o.kind}/${o.metadata.name}: ${field}: ${msg}`);
  const ns = (o) => o.metadata.namespace || "";
  const find = (kind, namespace, name) => objs.find((o) => o.kind === kind && ns(o) === namespace && o.metadata.name === name);
  const pods = []; // {owner, ns, labels, spec, annotations}
  for (const o of objs) {
    const spec = podSpecOf(o);
    if (!spec) continue;
    const tmeta = o.kind === "Pod" ? o.metadata : (o.spec.template && o.spec.template.metadata) || {};
    pods.push({ owner: o, ns: ns(o), labels: tmeta.labels || {}, annotations: tmeta.annotations || {}, spec });
  }
  const podsIn = (namespace) => pods.filter((p) => p.ns === namespace);
  const allPorts = (p) => p.spec.containers.flatMap((c) => c.ports || []);
  const portIn = (ports, want) => ports.some((cp) => (typeof want === "string" ? cp.name === want : cp.containerPort === want));
  const counts = { selectors: 0, references: 0, ports: 0, volumes: 0, variables: 0 };

  const namespaces = objs.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
  for (const o of objs) {
    if (CLUSTER_SCOPED.has(o.kind)) continue;
    if (namespaces.length && !namespaces.includes(ns(o))) err(o, "metadata.namespace", `namespace "${ns(o)}" is not among the Namespaces rendered (${namespaces.join(", ")})`);
  }

  for (const p of pods) {
    const o = p.owner;
    const pre = o.kind === "Pod" ? "spec" : "spec.template.spec";
    // the workload's own selector
    if (WORKLOAD_KINDS.has(o.kind) && o.kind !== "Job") {
      counts.selectors++;
      if (!selects(o.spec.selector, p.labels)) err(o, "spec.selector", "does not select the labels of its own pod template");
    }
    if (o.kind === "StatefulSet") {
      counts.selectors++;
      const svc = find("Service", p.ns, o.spec.serviceName);
      if (!svc) err(o, "spec.serviceName", `no Service "${o.spec.serviceName}" in namespace ${p.ns}`);
      else if (svc.spec.clusterIP !== "None") err(o, "spec.serviceName", `Service "${o.spec.serviceName}" is not headless (clusterIP: None): the pods get no DNS names of their own`);
      else if (!selectsMap(svc.spec.selector, p.labels)) err(o, "spec.serviceName", `Service "${o.spec.serviceName}" does not select this StatefulSet's pods`);
    }
    // volumes and mounts
    const volumes = new Map((p.spec.volumes || []).map((v) => [v.name, v]));
    const claims = new Set(((o.kind === "StatefulSet" && o.spec.volumeClaimTemplates) || []).map((t) => t.metadata && t.metadata.name));
    const mounted = new Set();
    for (const c of [...(p.spec.initContainers || []), ...p.spec.containers]) {
      for (const m of c.volumeMounts || []) {
        counts.volumes++;
        mounted.add(m.name);
        if (!volumes.has(m.name) && !claims.has(m.name)) err(o, `${pre}.containers[${c.name}].volumeMounts[${m.name}]`, `no volume or volumeClaimTemplate named "${m.name}"`);
      }
      // probes
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const pr = c[probe];
        if (!pr) continue;
        const port = (pr.httpGet && pr.httpGet.port) ?? (pr.tcpSocket && pr.tcpSocket.port) ?? (pr.grpc && pr.grpc.port);
        if (port === undefined) continue;
        counts.ports++;
        if (!portIn(c.ports || [], port)) err(o, `${pre}.containers[${c.name}].${probe}`, `port ${JSON.stringify(port)} is not one of the container's ports`);
      }
      // ConfigMaps, Secrets and their keys in the environment
      const defined = new Set();
      for (const [ei, ef] of (c.envFrom || []).entries()) {
        const ref = ef.configMapRef ? ["ConfigMap", ef.configMapRef] : ef.secretRef ? ["Secret", ef.secretRef] : null;
        if (!ref) continue;
        counts.references++;
        const target = find(ref[0], p.ns, ref[1].name);
        if (!target) { if (!ref[1].optional) err(o, `${pre}.containers[${c.name}].envFrom[${ei}]`, `no ${ref[0]} "${ref[1].name}"`); continue; }
        for (const k of Object.keys(target.data || {})) defined.add((ef.prefix || "") + k);
      }
      const checkRefs = (text, field, known) => {
        for (const r of varRefs(text)) {
          if (!looksLikeVar(r)) continue; // e.g. the shell's $((i + 1)): kubelet leaves it alone
          counts.variables++;
          if (!known.has(r)) err(o, field, `$(${r}) is not defined ${field.includes(".env[") ? "before this entry" : "in the container's environment"}: kubelet would pass it on unexpanded`);
        }
      };
      for (const e of c.env || []) {
        const f = `${pre}.containers[${c.name}].env[${e.name}]`;
        if (typeof e.value === "string") checkRefs(e.value, f, defined);
        const vf = e.valueFrom || {};
        const ref = vf.configMapKeyRef ? ["ConfigMap", vf.configMapKeyRef] : vf.secretKeyRef ? ["Secret", vf.secretKeyRef] : null;
        if (ref) {
          counts.references++;
          const target = find(ref[0], p.ns, ref[1].name);
          if (!target) { if (!ref[1].optional) err(o, f, `no ${ref[0]} "${ref[1].name}"`); }
          else if (!((target.data && ref[1].key in target.data) || (target.binaryData && ref[1].key in target.binaryData)) && !ref[1].optional)
            err(o, f, `${ref[0]} "${ref[1].name}" has no key "${ref[1].key}"`);
        }
        defined.add(e.name);
      }
      for (const [i, a] of (c.command || []).entries()) checkRefs(a, `${pre}.containers[${c.name}].command[${i}]`, defined);
      for (const [i, a] of (c.args || []).entries()) checkRefs(a, `${pre}.containers[${c.name}].args[${i}]`, defined);
    }
    for (const [name, v] of volumes) {
      counts.volumes++;
      if (!mounted.has(name)) err(o, `${pre}.volumes[${name}]`, "is mounted by no container");
      const ref = v.configMap ? ["ConfigMap", v.configMap.name, v.configMap] : v.secret ? ["Secret", v.secret.secretName, v.secret] : null;
      if (!ref) continue;
      counts.references++;
      const target = find(ref[0], p.ns, ref[1]);
      if (!target) { if (!ref[2].optional) err(o, `${pre}.volumes[${name}]`, `no ${ref[0]} "${ref[1]}"`); continue; }
      for (const it of ref[2].items || [])
        if (!((target.data && it.key in target.data) || (target.binaryData && it.key in target.binaryData)))
          err(o, `${pre}.volumes[${name}].items[${it.key}]`, `${ref[0]} "${ref[1]}" has no key "${it.key}"`);
    }
    for (const name of claims) {
      counts.volumes++;
      if (!mounted.has(name)) err(o, `spec.volumeClaimTemplates[${name}]`, "is mounted by no container: the volume would hold nothing");
    }
    // scrape annotations
    if (p.annotations["prometheus.io/scrape"] === "true") {
      counts.ports++;
      const port = Number(p.annotations["prometheus.io/port"]);
      if (!portIn(allPorts(p), port)) err(o, "spec.template.metadata.annotations[prometheus.io/port]", `${p.annotations["prometheus.io/port"]} is not a container port`);
    }
  }

  for (const o of objs) {
    if (o.kind === "Service" && o.spec.selector && Object.keys(o.spec.selector).length) {
      counts.selectors++;
      const sel = podsIn(ns(o)).filter((p) => selectsMap(o.spec.selector, p.labels));
      if (!sel.length) { err(o, "spec.selector", `selects no pod template in namespace ${ns(o)}`); continue; }
      for (const port of o.spec.ports || []) {
        counts.ports++;
        const want = port.targetPort === undefined ? port.port : port.targetPort;
        for (const p of sel)
          if (!portIn(allPorts(p), want)) err(o, `spec.ports[${port.name || port.port}].targetPort`, `${JSON.stringify(want)} is not a port of ${p.owner.kind}/${p.owner.metadata.name}`);
      }
    }
    if (o.kind === "PodDisruptionBudget") {
      counts.selectors++;
      if (!podsIn(ns(o)).some((p) => selects(o.spec.selector, p.labels))) err(o, "spec.selector", `selects no pod template in namespace ${ns(o)}`);
    }
    if (o.kind === "NetworkPolicy") {
      counts.selectors++;
      const sel = podsIn(ns(o)).filter((p) => selects(o.spec.podSelector, p.labels));
      if (!sel.length) { err(o, "spec.podSelector", `selects no pod template in namespace ${ns(o)}`); continue; }
      for (const [ri, rule] of (o.spec.ingress || []).entries()) {
        for (const [pi, peer] of (rule.from || []).entries()) {
          if (!peer.podSelector || peer.namespaceSelector) continue; // pods of other namespaces
          if (!Object.keys(peer.podSelector.matchLabels || {}).length && !(peer.podSelector.matchExpressions || []).length) continue;
          counts.selectors++;
          // A label meant for client pods that are not part of this rendering (hotline-client)
          // selects nothing here by design; only a selector on labels these pods use must match.
          const keys = [...Object.keys(peer.podSelector.matchLabels || {}), ...(peer.podSelector.matchExpressions || []).map((e) => e.key)];
          const ours = keys.some((k) => podsIn(ns(o)).some((p) => k in p.labels));
          if (ours && !podsIn(ns(o)).some((p) => selects(peer.podSelector, p.labels)))
            err(o, `spec.ingress[${ri}].from[${pi}].podSelector`, "selects no pod template, though it uses their labels: a typo?");
        }
        for (const port of rule.ports || []) {
          counts.ports++;
          if (!sel.some((p) => portIn(allPorts(p), port.port))) err(o, `spec.ingress[${ri}].ports[${port.port}]`, `${JSON.stringify(port.port)} is a port of none of the pods it selects`);
        }
      }
    }
  }
  return { errors, counts };
}

module.exports = { crossCheck, varRefs, selects };
