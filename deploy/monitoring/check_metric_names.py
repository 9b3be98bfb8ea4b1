#!/usr/bin/env python3
"""Check that a Grafana dashboard and Prometheus rule files use only metrics that exist.

    check_metric_names.py --dashboard hotline-dashboard.json --rules alerts.yml \\
        --exported intake.txt --exported dispatch.txt ...

reads the PromQL of every dashboard panel target and template variable and of every rule's
`expr`, picks out the metric names (not functions, aggregations, keywords, label names, the
label lists of by / without / on / ignoring / group_left / group_right, durations, numbers,
strings or Grafana variables), and compares them with the sample names in the /metrics
scrapes given with --exported. `up` is always allowed (Prometheus makes it per target), and
so are names a rule file records. A histogram is known by its _bucket, _sum and _count series
only, as PromQL selects it. Prints each name that no scrape has, with where it is used, and
exits 1 if there is one; exits 2 when a file cannot be read or parsed.

Other modes (no --exported):
    --expr EXPR      print the metric names in EXPR, one a line (to check the parser)
    --list           print every name used, with where
    --count-exprs    print how many expressions were read
    --as-rules       print the dashboard's queries as a rule file (JSON, which YAML reads), with
                     Grafana's variables replaced by plain values, for `promtool check rules`
    --queries        print them as JSON lines {"panel": TITLE, "expr": EXPR}, same values

Python 3 standard library only. The rule files are read with a small reader of the YAML
that rule files use (`expr:` plain, quoted, or a `|` / `>` block); anything else is refused
rather than guessed.
"""
import argparse
import json
import re
import sys

CLAUSES = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = CLAUSES | {"offset", "bool", "and", "or", "unless", "atan2", "inf", "nan"}
IDENT_START = re.compile(r"[A-Za-z_:]")
IDENT = re.compile(r"[A-Za-z0-9_:]*")
# Grafana's variables, replaced for --as-rules / --queries (values that parse and select).
GRAFANA_VARS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "job": "hotline-.+",
}


class ParseError(Exception):
    pass


def tokens(expr):
    """PromQL tokens: (kind, text) with kind ident, num, str, var or punct."""
    out, i, n = [], 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
        elif c == "#":  # comment to the end of the line
            while i < n and expr[i] != "\n":
                i += 1
        elif c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            if j >= n:
                raise ParseError("unterminated string in: %s" % expr)
            out.append(("str", expr[i + 1:j]))
            i = j + 1
        elif c == "$":  # Grafana: $name, ${name}, ${name:format}
            if expr.startswith("${", i):
                j = expr.find("}", i)
                if j < 0:
                    raise ParseError("unterminated ${ in: %s" % expr)
            else:
                j = i + 1 + len(IDENT.match(expr, i + 1).group(0)) - 1
            out.append(("var", expr[i:j + 1]))
            i = j + 1
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            # numbers (1, 0.5, 1e-3, 0x1f) and durations (5m, 1h30m)
            j = i + 1
            while j < n and (expr[j].isalnum() or expr[j] in "._" or
                             (expr[j] in "+-" and expr[j - 1] in "eE" and
                              not expr[i:j].lower().startswith("0x"))):
                j += 1
            out.append(("num", expr[i:j]))
            i = j
        elif IDENT_START.match(c):
            j = i + 1 + len(IDENT.match(expr, i + 1).group(0))
            out.append(("ident", expr[i:j]))
            i = j
        elif expr.startswith("[[", i):  # Grafana's old [[name]]
            j = expr.find("]]", i)
            if j < 0:
                raise ParseError("unterminated [[ in: %s" % expr)
            out.append(("var", expr[i:j + 2]))
            i = j + 2
        else:
            out.append(("punct", c))
            i += 1
    return out


def metric_names(expr):
    """The metric names an expression selects, in order of first use."""
    toks = tokens(expr)
    names, braces, brackets, i = [], 0, 0, 0

    def add(name):
        if name not in names:
            names.append(name)

    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ("", "")
        if kind == "punct":
            braces += {"{": 1, "}": -1}.get(text, 0)
            brackets += {"[": 1, "]": -1}.get(text, 0)
            if braces < 0 or brackets < 0:
                raise ParseError("unbalanced brackets in: %s" % expr)
        elif kind == "ident" and brackets:
            pass  # a duration or a Grafana variable in a range
        elif kind == "ident" and braces:
            # a label name; {__name__="x"} names the metric itself
            if text == "__name__" and nxt == ("punct", "=") and i + 2 < len(toks) \
                    and toks[i + 2][0] == "str":
                add(toks[i + 2][1])
        elif kind == "ident":
            if text in CLAUSES and nxt == ("punct", "("):
                depth, i = 0, i + 1  # skip the label list
                while i < len(toks):
                    depth += {"(": 1, ")": -1}.get(toks[i][1], 0) if toks[i][0] == "punct" else 0
                    if depth == 0:
                        break
                    i += 1
            elif nxt == ("punct", "(") or nxt in (("ident", "by"), ("ident", "without")) \
                    or text.lower() in KEYWORDS:
                pass  # a function, an aggregation (sum by (...) (...)) or a keyword
            else:
                add(text)
        i += 1
    if braces or brackets:
        raise ParseError("unbalanced brackets in: %s" % expr)
    return names


# ---- where the expressions are ----

def dashboard_exprs(path):
    """(where, expr) of every panel target and query variable of a dashboard."""
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    out = []

    def panels(items):
        for p in items or []:
            yield p
            yield from panels(p.get("panels"))  # rows keep their panels when collapsed

    for p in panels(dash.get("panels")):
        for t in p.get("targets") or []:
            if t.get("expr"):
                out.append(("panel %r target %s" % (p.get("title", ""), t.get("refId", "?")),
                            t["expr"]))
    for v in (dash.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        where = "variable %r" % v.get("name", "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q, re.S)
        if m:
            out.append((where, m.group(1)))
        elif re.fullmatch(r"\s*label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q):
            pass  # label_values(label): no metric
        elif re.fullmatch(r"\s*query_result\((.*)\)\s*", q, re.S):
            out.append((where, re.fullmatch(r"\s*query_result\((.*)\)\s*", q, re.S).group(1)))
        elif q.strip():
            raise ParseError("%s: %s: a query this checker does not read: %s" % (path, where, q))
    return out


def yaml_scalar(value, lines, k, path):
    """The value of `key: value` at lines[k] (plain, quoted, or a | / > block after it)."""
    value = value.strip()
    if re.fullmatch(r"[|>][-+]?", value):
        indent = len(lines[k]) - len(lines[k].lstrip())
        block = []
        for line in lines[k + 1:]:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            block.append(line.strip())
        return "\n".join(block).strip()
    if value.startswith('"'):
        return json.loads(value)
    if value.startswith("'"):
        if not value.endswith("'") or len(value) < 2:
            raise ParseError("%s:%d: a quoted value on more than one line" % (path, k + 1))
        return value[1:-1].replace("''", "'")
    if not value:
        raise ParseError("%s:%d: an empty expr (or one this checker does not read)" % (path, k + 1))
    return re.sub(r"\s+#.*$", "", value)


def rule_exprs(path):
    """(where, expr) of every rule, and the names the file records."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, recorded, rule = [], [], "?"
    for k, line in enumerate(lines):
        m = re.match(r"\s*(?:-\s+)?(alert|record|expr):(.*)$", line)
        if not m or line.lstrip().startswith("#"):
            continue
        key, value = m.group(1), m.group(2)
        if key in ("alert", "record"):
            rule = yaml_scalar(value, lines, k, path)
            if key == "record":
                recorded.append(rule)
        else:
            out.append(("rule %s (%s:%d)" % (rule, path, k + 1), yaml_scalar(value, lines, k, path)))
    return out, recorded


def exported_names(path):
    names = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                names.add(re.match(r"[^{\s]+", line).group(0))
    return names


def grafana_plain(expr):
    def sub(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in GRAFANA_VARS:
            raise ParseError("no plain value for the Grafana variable %s in: %s" % (m.group(0), expr))
        return GRAFANA_VARS[name]
    return re.sub(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]",
                  sub, expr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dashboard", action="append", default=[])
    ap.add_argument("--rules", action="append", default=[])
    ap.add_argument("--exported", action="append", default=[],
                    help="a /metrics scrape (Prometheus text format)")
    ap.add_argument("--expr", action="append", default=[])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--count-exprs", action="store_true")
    ap.add_argument("--as-rules", action="store_true")
    ap.add_argument("--queries", action="store_true")
    a = ap.parse_args()
    try:
        for e in a.expr:
            print("\n".join(metric_names(e)))
        if a.expr:
            return 0
        exprs, recorded = [], []
        for d in a.dashboard:
            exprs += dashboard_exprs(d)
        for r in a.rules:
            e, rec = rule_exprs(r)
            exprs += e
            recorded += rec
        if a.as_rules or a.queries:
            panel = [(w, grafana_plain(e)) for d in a.dashboard for w, e in dashboard_exprs(d)
                     if w.startswith("panel ")]
            if a.as_rules:
                rules = [{"record": "dashboard:query%d" % i, "expr": e}
                         for i, (_, e) in enumerate(panel)]
                print(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}, indent=1))
            else:
                for w, e in panel:
                    print(json.dumps({"panel": w, "expr": e}))
            return 0
        if a.count_exprs:
            print(len(exprs))
            return 0
        used = []  # (name, where, expr)
        for where, e in exprs:
            used += [(n, where, e) for n in metric_names(e)]
        if a.list or not a.exported:
            for n, where, _ in used:
                print("%s\t%s" % (n, where))
            return 0
        have = set(["up"]) | set(recorded)
        for path in a.exported:
            have |= exported_names(path)
    except (OSError, ValueError, ParseError) as e:
        print("check_metric_names: %s" % e, file=sys.stderr)
        return 2
    bad = [(n, where, e) for n, where, e in used if n not in have]
    for n, where, e in bad:
        hint = ""
        if any(h in have for h in (n + "_bucket", n + "_count")):
            hint = " (a histogram: select its _bucket, _sum or _count)"
        print("not exported: %s%s, used by %s: %s" % (n, hint, where, " ".join(e.split())))
    names = sorted(set(n for n, _, _ in used))
    if bad:
        print("FAIL: %d of %d metric names are exported by no scrape given" %
              (len(set(n for n, _, _ in bad)), len(names)))
        return 1
    print("OK: %d metric names in %d expressions, all exported: %s" %
          (len(names), len(exprs), " ".join(names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
