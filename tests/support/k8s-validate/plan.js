// plan.js: turns a rendering (kustomize's objects, or `docker-compose config`) into processes
// to run here, on 127.0.0.1, exactly as kubelet or Docker would start the containers: the same
// command and arguments, the same environment (for Kubernetes: envFrom, then env in order with
// kubelet's $(VAR) expansion, the downward API), the same files where the volumes put them. Only
// what cannot be the same on one machine is moved, and only by rewriting strings:
//   - a mount path /x becomes ROOT/<pod>/x (for a compose bind mount: its host source),
//   - /usr/bin/hotline-* becomes BIN/hotline-*,
//   - host:port of a pod, a Service or a compose service becomes 127.0.0.1:<its port here>, as
//     does 0.0.0.0:port, a bare 0.0.0.0, and an environment value that is one of the pod's own
//     container ports. Hotline's ports 8080-8099 of the first pod of each workload keep their
//     offset from PORT_BASE (so `hotline --port-base PORT_BASE` reaches them); other ports
//     come after PORT_BASE + 20.
// Written to OUT: pods (one name a line), and per pod: argv and env (NUL-separated), ready
// (the readiness URL) or health (the compose healthcheck's argv, NUL-separated), ports.
"use strict";
const fs = require("fs");
const path = require("path");

// kubelet's expansion (third_party/forked/golang/expansion): $(NAME) -> its value when NAME is
// defined, else left as written; $$ -> $; anything else as it is.
function expand(input, vars) {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== "$" || i + 1 >= input.length) { out += c; continue; }
    const next = input[i + 1];
    if (next === "$") { out += "$"; i++; continue; }
    if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) { out += "$("; i++; continue; }
      const name = input.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
      i = close;
      continue;
    }
    out += c + next;
    i++;
  }
  return out;
}

class Ports {
  constructor(base) { this.base = base; this.next = base + 20; this.firstOf = new Set(); }
  assign(workload, containerPort) {
    if (containerPort >= 8080 && containerPort < 8100 && !this.firstOf.has(`${workload}:${containerPort}`)) {
      this.firstOf.add(`${workload}:${containerPort}`);
      return this.base + (containerPort - 8080);
    }
    return this.next++;
  }
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function rewriter({ mounts, hosts, ownPorts, binDir }) {
  // One pass over every mount path, longest first (/etc/hotline/curve before /etc/hotline), each
  // only as a whole path: not inside a longer name, and never inside what it was replaced by.
  const m = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const mountRe = m.length ? new RegExp(`(?<![\\w./-])(${m.map(escapeRe).join("|")})(?=[/"'\\s\\\\]|$)`, "g") : null;
  const hostRe = Object.keys(hosts).length
    ? new RegExp(`(?<![\\w.-])(${Object.keys(hosts).sort((a, b) => b.length - a.length).map(escapeRe).join("|")}):(\\d+)(?![\\w.-])`, "g")
    : null;
  return (s, isEnvValue) => {
    if (isEnvValue && /^\d+$/.test(s) && ownPorts[Number(s)]) return String(ownPorts[Number(s)]);
    if (s === "0.0.0.0") return "127.0.0.1";
    s = s.replace(/0\.0\.0\.0:(\d+)/g, (all, p) => (ownPorts[Number(p)] ? `127.0.0.1:${ownPorts[Number(p)]}` : all));
    if (hostRe) s = s.replace(hostRe, (all, h, p) => {
      const local = hosts[h][Number(p)];
      return local ? `127.0.0.1:${local}` : all;
    });
    // Mounts first: the binaries' directory is a host path (it may well start with a mount
    // path such as /tmp) and must not be taken for one.
    if (mountRe) s = s.replace(mountRe, (all, mp) => mounts[mp]);
    s = s.replace(/\/usr\/bin\/(hotline-[a-z]+)/g, (all, b) => path.join(binDir, b));
    return s;
  };
}

function writePlan(out, pods) {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "pods"), pods.map((p) => p.name).join("\n") + "\n");
  for (const p of pods) {
    const d = path.join(out, p.name);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, "argv"), p.argv.map((a) => a + "\0").join(""));
    fs.writeFileSync(path.join(d, "env"), Object.entries(p.env).map(([k, v]) => `${k}=${v}\0`).join(""));
    if (p.ready) fs.writeFileSync(path.join(d, "ready"), p.ready + "\n");
    if (p.health) fs.writeFileSync(path.join(d, "health"), p.health.map((a) => a + "\0").join(""));
    fs.writeFileSync(path.join(d, "ports"), Object.entries(p.ports).map(([c, l]) => `${c} ${l}\n`).join(""));
  }
}

// ---- Kubernetes ---------------------------------------------------------------------------

function k8sPlan(objs, { out, portBase, root, binDir }) {
  const ports = new Ports(portBase);
  const ns = (o) => o.metadata.namespace || "default";
  const find = (kind, n, name) => objs.find((o) => o.kind === kind && ns(o) === n && o.metadata.name === name);
  const pods = [];
  for (const o of objs.filter((x) => x.kind === "StatefulSet")) {
    const replicas = o.spec.replicas === undefined ? 1 : o.spec.replicas;
    for (let i = 0; i < replicas; i++) {
      const tmpl = o.spec.template;
      const podLabels = { ...(tmpl.metadata.labels || {}), "apps.kubernetes.io/pod-index": String(i),
        "statefulset.kubernetes.io/pod-name": `${o.metadata.name}-${i}` };
      if (tmpl.spec.containers.length !== 1 || (tmpl.spec.initContainers || []).length)
        throw new Error(`${o.metadata.name}: the plan runs pods of one container only`);
      const c = tmpl.spec.containers[0];
      const p = { name: `${o.metadata.name}-${i}`, owner: o, index: i, labels: podLabels, c, ports: {} };
      for (const cp of c.ports || []) p.ports[cp.containerPort] = ports.assign(o.metadata.name, cp.containerPort);
      pods.push(p);
    }
  }
  // DNS names: <pod>.<governing service>[.<ns>[.svc[.cluster.local]]], and each Service's name
  // for the first pod it selects (port -> targetPort -> the pod's port).
  const hosts = {};
  const fqdn = (name, n) => [name, `${name}.${n}`, `${name}.${n}.svc`, `${name}.${n}.svc.cluster.local`];
  for (const p of pods) for (const h of fqdn(`${p.name}.${p.owner.spec.serviceName}`, ns(p.owner))) hosts[h] = p.ports;
  for (const s of objs.filter((x) => x.kind === "Service" && x.spec.clusterIP !== "None")) {
    const target = pods.find((p) => ns(p.owner) === ns(s) && Object.entries(s.spec.selector || {}).every(([k, v]) => p.labels[k] === v));
    if (!target) continue;
    const map = {};
    for (const sp of s.spec.ports || []) {
      const tp = sp.targetPort === undefined ? sp.port : sp.targetPort;
      const cp = typeof tp === "number" ? tp : (target.c.ports || []).find((x) => x.name === tp)?.containerPort;
      if (cp && target.ports[cp]) map[sp.port] = target.ports[cp];
    }
    for (const h of fqdn(s.metadata.name, ns(s))) hosts[h] = map;
  }
  const planned = [];
  for (const p of pods) {
    const o = p.owner, n = ns(o), c = p.c, spec = o.spec.template.spec;
    const proot = path.join(root, p.name);
    // volumes: files where the container would see them
    const mounts = {};
    const vols = new Map((spec.volumes || []).map((v) => [v.name, v]));
    for (const vm of c.volumeMounts || []) {
      const dir = path.join(proot, vm.mountPath);
      fs.mkdirSync(dir, { recursive: true });
      mounts[vm.mountPath] = dir;
      const v = vols.get(vm.name);
      if (!v) continue; // a volumeClaimTemplate: an empty directory of its own
      const src = v.secret ? ["Secret", v.secret.secretName, v.secret.items] : v.configMap ? ["ConfigMap", v.configMap.name, v.configMap.items] : null;
      if (!src) continue;
      const obj = find(src[0], n, src[1]);
      const data = Object.fromEntries(Object.entries(obj.data || {}).map(([k, val]) =>
        [k, src[0] === "Secret" ? Buffer.from(val.replace(/\s/g, ""), "base64") : Buffer.from(val, "utf8")]));
      const items = src[2] || Object.keys(data).map((k) => ({ key: k, path: k }));
      for (const it of items) {
        const f = path.join(dir, it.path);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, data[it.key], { mode: 0o600 });
      }
    }
    // the environment, as kubelet makes it
    const env = {};
    for (const ef of c.envFrom || []) {
      const ref = ef.configMapRef ? find("ConfigMap", n, ef.configMapRef.name) : find("Secret", n, ef.secretRef.name);
      for (const [k, v] of Object.entries(ref.data || {}))
        env[(ef.prefix || "") + k] = ef.secretRef ? Buffer.from(v.replace(/\s/g, ""), "base64").toString("utf8") : v;
    }
    for (const e of c.env || []) {
      if (e.value !== undefined) { env[e.name] = expand(e.value, env); continue; }
      const vf = e.valueFrom || {};
      if (vf.fieldRef) {
        const fp = vf.fieldRef.fieldPath;
        const lab = /^metadata\.labels\['(.+)'\]$/.exec(fp);
        env[e.name] = fp === "metadata.name" ? p.name : fp === "metadata.namespace" ? n
          : fp === "status.podIP" ? "127.0.0.1" : lab ? (p.labels[lab[1]] || "") : (() => { throw new Error(`${p.name}: fieldRef ${fp} is not planned`); })();
      } else if (vf.configMapKeyRef) env[e.name] = find("ConfigMap", n, vf.configMapKeyRef.name).data[vf.configMapKeyRef.key];
      else if (vf.secretKeyRef) env[e.name] = Buffer.from(find("Secret", n, vf.secretKeyRef.name).data[vf.secretKeyRef.key].replace(/\s/g, ""), "base64").toString("utf8");
      else throw new Error(`${p.name}: env ${e.name}: its source is not planned`);
    }
    const argv = [...(c.command || []), ...(c.args || [])].map((a) => expand(a, env));
    if (!argv.length) throw new Error(`${p.name}: no command: the plan does not know the image's entrypoint`);
    const rw = rewriter({ mounts, hosts, ownPorts: p.ports, binDir });
    const outEnv = {};
    for (const [k, v] of Object.entries(env)) outEnv[k] = rw(v, true);
    const rp = c.readinessProbe && c.readinessProbe.httpGet;
    let ready = null;
    if (rp) {
      const cp = typeof rp.port === "number" ? rp.port : c.ports.find((x) => x.name === rp.port).containerPort;
      ready = `http://127.0.0.1:${p.ports[cp]}${rp.path || "/"}`;
    }
    planned.push({ name: p.name, argv: argv.map((a) => rw(a, false)), env: outEnv, ready, ports: p.ports });
  }
  writePlan(out, planned);
  return planned;
}

// ---- Docker Compose -------------------------------------------------------------------------

// `docker-compose config` writes every $ of a value as $$; the container gets one.
const unescapeDollars = (s) => s.replace(/\$\$/g, "$");

function composePorts(svc) {
  const out = new Set();
  for (const p of svc.ports || []) {
    if (typeof p === "object") { out.add(Number(p.target)); continue; }
    const m = /(\d+)(?:\/\w+)?$/.exec(String(p));
    if (m) out.add(Number(m[1]));
  }
  for (const e of svc.expose || []) out.add(Number(String(e).split("/")[0]));
  return [...out];
}

function composePlan(cfg, { out, portBase, root, binDir }) {
  // Every bind mount's source must be there (the monitoring files, the secrets), for every
  // service, ours or not: a wrong relative path is what `config` does not see.
  for (const [name, s] of Object.entries(cfg.services))
    for (const v of s.volumes || []) {
      const source = typeof v === "object" ? v.source : String(v).split(":")[0];
      if (source && source.startsWith("/") && !fs.existsSync(source))
        throw new Error(`${name}: bind mount ${source} does not exist`);
    }
  const ports = new Ports(portBase);
  const ours = Object.entries(cfg.services).filter(([, s]) => (s.entrypoint || [])[0] && /^\/usr\/bin\/hotline-/.test([].concat(s.entrypoint)[0]));
  const hosts = {};
  const portMaps = {};
  for (const [name, s] of ours) {
    portMaps[name] = {};
    for (const cp of composePorts(s)) portMaps[name][cp] = ports.assign(name, cp);
    hosts[name] = portMaps[name];
    for (const net of Object.values(s.networks || {})) for (const a of (net && net.aliases) || []) hosts[a] = portMaps[name];
  }
  const planned = [];
  for (const [name, s] of ours) {
    const proot = path.join(root, name);
    const mounts = {};
    for (const v of s.volumes || []) {
      let source, target;
      if (typeof v === "object") { source = v.source; target = v.target; }
      else { const parts = String(v).split(":"); source = parts[0]; target = parts[1]; }
      if (source && source.startsWith("/")) { // a bind mount: the host's path
        if (!fs.existsSync(source)) throw new Error(`${name}: bind mount ${source} -> ${target}: ${source} does not exist`);
        mounts[target] = source;
      }
      else { const dir = path.join(proot, target); fs.mkdirSync(dir, { recursive: true }); mounts[target] = dir; }
    }
    for (const sec of s.secrets || []) {
      const src = typeof sec === "string" ? sec : sec.source;
      const target = typeof sec === "string" ? sec : (sec.target || sec.source);
      const file = cfg.secrets[src].file;
      if (!fs.existsSync(file)) throw new Error(`${name}: secret ${src}: ${file} does not exist`);
      mounts[target.startsWith("/") ? target : `/run/secrets/${target}`] = file;
    }
    const rw = rewriter({ mounts, hosts, ownPorts: portMaps[name], binDir });
    let envList = s.environment || {};
    if (Array.isArray(envList)) envList = Object.fromEntries(envList.map((e) => [e.split("=")[0], e.slice(e.indexOf("=") + 1)]));
    const env = {};
    for (const [k, v] of Object.entries(envList)) env[k] = rw(unescapeDollars(String(v ?? "")), true);
    const argv = [...[].concat(s.entrypoint || []), ...[].concat(s.command || [])].map((a) => rw(unescapeDollars(String(a)), false));
    let health = null;
    const t = s.healthcheck && s.healthcheck.test;
    if (t) {
      const list = [].concat(t);
      if (list[0] === "CMD") health = list.slice(1);
      else if (list[0] === "CMD-SHELL") health = ["/bin/sh", "-c", list[1]];
      else health = ["/bin/sh", "-c", list.join(" ")];
      // 127.0.0.1:<container port> inside the container is this service's port here
      health = health.map((a) => unescapeDollars(a).replace(/127\.0\.0\.1([:/])(\d+)/g, (all, sep, pt) =>
        portMaps[name][Number(pt)] ? `127.0.0.1${sep}${portMaps[name][Number(pt)]}` : all));
    }
    planned.push({ name, argv, env, health, ports: portMaps[name] });
  }
  writePlan(out, planned);
  return planned;
}

module.exports = { k8sPlan, composePlan, expand };
