#!/usr/bin/env python3
"""Checks for the monitoring files; run through scripts/check-monitoring-files.sh.

    checks.py dashboards                 Grafana JSON structure, variables, datasource, queries
    checks.py provisioning               Dashboards/provisioning/*.yml shape
    checks.py rules-meta                 every alert: for, severity, summary, description,
                                         runbook section in Alerts/README.md, a unit test
    checks.py names METRICS_FILE         every metric name (and matcher label) used by a
                                         dashboard or rule exists in METRICS_FILE
    checks.py dashboard-rules OUT.yml    write every dashboard query as a recording rule, for
                                         `promtool check rules` to parse
    checks.py selftest                   the PromQL name extraction on known cases

Each prints one line per problem and exits 1 if there is any.
"""

import json
import re
import sys
from pathlib import Path

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from promql_names import (PromQLError, parse_exposition, selectors, tokens,  # noqa: E402
                          variable_query_selectors)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "Dashboards"
ALERTS = ROOT / "Alerts"
RULES = ALERTS / "progress-exporter.rules.yml"
TESTS = sorted((ALERTS / "tests").glob("*.test.yml"))
DS_UID = "${datasource}"

# Series that Prometheus makes itself, not the exporter.
PROMETHEUS_OWN = re.compile(r"^(up|scrape_[a-z_]+|ALERTS|ALERTS_FOR_STATE)$")
# Labels every scraped series has (target labels). `job` is only ever the scrape job: the
# exporter's series carry the tracker's job id as `job_name` (until 2026-11 it was `job`).
TARGET_LABELS = {"instance", "job", "__name__"}
# The scrape job's name that rules and dashboards may match `job` against (see Alerts/README.md).
SCRAPE_JOB_PREFIX = "progress-exporter"
# Grouping and matching clauses, to find `by (job)` left over from before the rename.
CLAUSE = re.compile(r"\b(by|without|on|ignoring)\s*\(([^)]*)\)")
# (metric, label) pairs whose every value is always exported (docs/metrics.md).
FIXED_VALUES = {("progress_job_agents", "state"), ("progress_agent_state", "state"),
                ("progress_exporter_agent_series", "series")}
GRAFANA_BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
                        "__dashboard", "__from", "__to", "__name", "__org", "__user", "timeFilter"}


def dashboard_files():
    return sorted(DASHBOARDS.glob("*.json"))


def load_rules():
    return yaml.safe_load(RULES.read_text(encoding="utf-8"))


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


# --------------------------------------------------------------------------- dashboards


def check_dashboards():
    problems, uids = [], {}
    files = dashboard_files()
    try:
        readme = (DASHBOARDS / "README.md").read_text(encoding="utf-8")
    except OSError as e:
        problems.append(f"Dashboards/README.md: {e.strerror}")
        readme = ""
    if not files:
        problems.append("no dashboards in Dashboards/")
    for path in files:
        rel = path.relative_to(ROOT)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            problems.append(f"{rel}: invalid JSON: {e}")
            continue
        bad = lambda msg: problems.append(f"{rel}: {msg}")  # noqa: E731
        for key in ("uid", "title", "schemaVersion", "panels", "templating"):
            if key not in d:
                bad(f"missing top-level {key!r}")
        if d.get("schemaVersion") != 39:
            bad(f"schemaVersion is {d.get('schemaVersion')!r}, want 39")
        if d.get("uid") in uids:
            bad(f"uid {d.get('uid')!r} also used by {uids[d['uid']]}")
        uids[d.get("uid")] = rel
        if d.get("id") is not None:
            bad("id must be null so the dashboard imports into any Grafana")

        variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
        ds = variables.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            bad("templating needs variable 'datasource' of type datasource with query 'prometheus'")
        job = variables.get("job")
        if not job:
            bad("templating needs variable 'job'")
        else:
            q = job.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            if job.get("type") != "query" or not re.match(r"^label_values\(\s*[^,]+,\s*job_name\s*\)$", q.strip()):
                bad(f"variable 'job' must be a query variable label_values(<metric>, job_name), got {q!r}")
            if not job.get("multi") or not job.get("includeAll"):
                bad("variable 'job' must be multi-select with includeAll")
        for name, v in variables.items():
            if v.get("type") == "query" and v.get("datasource") != {"type": "prometheus", "uid": DS_UID}:
                bad(f"variable {name!r} must query datasource ${{datasource}}")

        ids, occupied = set(), {}
        panels = list(all_panels(d.get("panels", [])))
        if not [p for p in panels if p.get("type") != "row"]:
            bad("no panels")
        for p in panels:
            title = p.get("title", "?")
            where = f"panel {p.get('id')} {title!r}"
            if p.get("id") in ids:
                bad(f"{where}: duplicate panel id")
            ids.add(p.get("id"))
            g = p.get("gridPos") or {}
            if not all(isinstance(g.get(k), int) for k in ("h", "w", "x", "y")):
                bad(f"{where}: gridPos needs integer h, w, x, y")
            elif g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24:
                bad(f"{where}: gridPos outside the 24 columns")
            else:
                for y in range(g["y"], g["y"] + g["h"]):
                    for x in range(g["x"], g["x"] + g["w"]):
                        if (x, y) in occupied:
                            bad(f"{where}: overlaps panel {occupied[(x, y)]}")
                            break
                        occupied[(x, y)] = p.get("id")
                    else:
                        continue
                    break
            if p.get("type") == "row":
                continue
            if not p.get("title"):
                bad(f"{where}: no title")
            elif f"| {p['title']} |" not in readme:
                bad(f"{where}: not listed in Dashboards/README.md (a table row '| {p['title']} | ...')")
            if p.get("datasource") != {"type": "prometheus", "uid": DS_UID}:
                bad(f"{where}: datasource must be {{'type': 'prometheus', 'uid': '${{datasource}}'}}, "
                    f"got {p.get('datasource')!r}")
            targets = p.get("targets") or []
            if not targets:
                bad(f"{where}: no targets")
            refs = set()
            for t in targets:
                if not (t.get("expr") or "").strip():
                    bad(f"{where}: target {t.get('refId')!r} has no expr")
                if t.get("refId") in refs:
                    bad(f"{where}: duplicate refId {t.get('refId')!r}")
                refs.add(t.get("refId"))
                if "datasource" in t and t["datasource"] != {"type": "prometheus", "uid": DS_UID}:
                    bad(f"{where}: target {t.get('refId')!r} datasource is {t['datasource']!r}")
                for var in re.findall(r"\$\{(\w+)[^}]*\}|\$(\w+)|\[\[(\w+)\]\]", t.get("expr") or ""):
                    name = next(v for v in var if v)
                    if name not in variables and name not in GRAFANA_BUILTIN_VARS:
                        bad(f"{where}: expr uses undefined variable ${name}")
                try:
                    selectors(t.get("expr") or "")
                except PromQLError as e:
                    bad(f"{where}: {e}")
        for name, v in variables.items():
            if v.get("type") != "query":
                continue
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            for var in re.findall(r"\$\{?(\w+)", q):
                if var not in variables and var not in GRAFANA_BUILTIN_VARS:
                    bad(f"variable {name!r} uses undefined variable ${var}")
        print(f"  {rel}: {len([p for p in panels if p.get('type') != 'row'])} panels, "
              f"variables: {', '.join(variables)}")
    return problems


# --------------------------------------------------------------------------- provisioning


def check_provisioning():
    problems = []
    prov = DASHBOARDS / "provisioning"
    dash = prov / "dashboards.yml"
    try:
        doc = yaml.safe_load(dash.read_text(encoding="utf-8"))
        providers = doc.get("providers") or []
        if doc.get("apiVersion") != 1 or not providers:
            problems.append(f"{dash.relative_to(ROOT)}: needs apiVersion: 1 and a providers list")
        for p in providers:
            if p.get("type") != "file" or not (p.get("options") or {}).get("path"):
                problems.append(f"{dash.relative_to(ROOT)}: provider {p.get('name')!r} needs type file and options.path")
    except (OSError, yaml.YAMLError, AttributeError) as e:
        problems.append(f"{dash.relative_to(ROOT)}: {e}")
    for path in sorted(prov.glob("datasource*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            sources = doc.get("datasources") or []
            if doc.get("apiVersion") != 1 or not any(s.get("type") == "prometheus" for s in sources):
                problems.append(f"{path.relative_to(ROOT)}: needs apiVersion: 1 and a prometheus datasource")
        except (yaml.YAMLError, AttributeError) as e:
            problems.append(f"{path.relative_to(ROOT)}: {e}")
    return problems


# --------------------------------------------------------------------------- rules metadata


def check_rules_meta():
    problems = []
    groups = load_rules().get("groups", [])
    try:
        readme = (ALERTS / "README.md").read_text(encoding="utf-8")
    except OSError as e:
        problems.append(f"Alerts/README.md: {e.strerror}")
        readme = ""
    headings = {h.strip().lower() for h in re.findall(r"^#{2,4}\s+(.+)$", readme, re.M)}
    tested = {}
    for path in TESTS:
        for test in yaml.safe_load(path.read_text(encoding="utf-8")).get("tests", []):
            for case in test.get("alert_rule_test", []):
                entry = tested.setdefault(case["alertname"], {"fires": False, "quiet": False})
                if case.get("exp_alerts"):
                    entry["fires"] = True
                else:
                    entry["quiet"] = True
    alerts = [r for g in groups for r in g.get("rules", []) if "alert" in r]
    for r in alerts:
        name = r["alert"]
        bad = lambda msg: problems.append(f"alert {name}: {msg}")  # noqa: E731
        if not r.get("for"):
            bad("no `for`")
        if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            bad("severity label must be critical, warning or info")
        for a in ("summary", "description"):
            if not r.get("annotations", {}).get(a):
                bad(f"no {a} annotation")
        if name.lower() not in headings:
            bad("no runbook section (a heading with the alert's name) in Alerts/README.md")
        t = tested.get(name)
        if not t or not t["fires"] or not t["quiet"]:
            bad("no unit test in Alerts/tests with both a firing and a not-firing expectation")
    for name in tested:
        if name not in {r["alert"] for r in alerts}:
            problems.append(f"tests name alert {name!r}, which no rule defines")
    print(f"  {len(alerts)} alerts, {sum(1 for g in groups for r in g.get('rules', []) if 'record' in r)} "
          f"recording rules, tests cover: {', '.join(sorted(tested))}")
    return problems


# --------------------------------------------------------------------------- metric names


def used_queries():
    """(where, expr) for every rule expr, dashboard target expr and variable query."""
    out = []
    for g in load_rules().get("groups", []):
        for r in g.get("rules", []):
            out.append((f"{RULES.relative_to(ROOT)}: {r.get('alert') or r.get('record')}", r["expr"], False))
    for path in dashboard_files():
        d = json.loads(path.read_text(encoding="utf-8"))
        for p in all_panels(d.get("panels", [])):
            for t in p.get("targets", []) or []:
                out.append((f"{path.name}: {p.get('title')!r} {t.get('refId')}", t.get("expr") or "", False))
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") == "query":
                q = v.get("query")
                q = q.get("query", "") if isinstance(q, dict) else (q or "")
                out.append((f"{path.name}: variable {v.get('name')}", q, True))
    return out


def check_names(metrics_file):
    problems, warnings = [], []
    text = sys.stdin.read() if metrics_file == "-" else Path(metrics_file).read_text(encoding="utf-8")
    exp = parse_exposition(text)
    recorded = {r["record"] for g in load_rules().get("groups", []) for r in g.get("rules", []) if "record" in r}
    used = {}
    for where, expr, is_var in used_queries():
        for clause, names in CLAUSE.findall(expr):
            if "job" in [n.strip() for n in names.split(",")]:
                problems.append(f"{where}: `{clause} (...job...)` uses the scrape job; the tracker's job id is job_name")
        try:
            if is_var:
                sels, label = variable_query_selectors(expr)
            else:
                sels, label = selectors(expr), None
        except PromQLError as e:
            problems.append(f"{where}: {e}")
            continue
        for s in sels:
            if not s.name:
                problems.append(f"{where}: selector without a metric name")
                continue
            used.setdefault(s.name, set()).add(where)
            if PROMETHEUS_OWN.match(s.name) or s.name in recorded:
                continue
            if ":" in s.name:
                problems.append(f"{where}: {s.name} looks like a recording rule but no rule records it")
                continue
            if not exp.has(s.name):
                continue  # reported once below
            seen = exp.labels_of(s.name)
            if seen is None:
                continue  # family declared without samples: labels unknown
            wanted = [(l, op, v) for (l, op, v) in s.matchers] + ([(label, "=~", "$x")] if label else [])
            for l, op, v in wanted:
                if l == "job" and "job_name" in seen and not v.startswith(SCRAPE_JOB_PREFIX):
                    problems.append(f"{where}: {s.name}{{job{op}{v!r}}} matches the scrape job; the tracker's "
                                    f"job id is job_name")
                if l in TARGET_LABELS:
                    continue
                if l not in seen:
                    problems.append(f"{where}: {s.name} has no label {l!r} in the metrics file "
                                    f"(labels: {', '.join(sorted(seen)) or 'none'})")
                elif "$" not in v and op in ("=", "=~"):
                    alternatives = v.split("|") if op == "=~" and re.fullmatch(r"[\w|]+", v) else \
                        ([v] if op == "=" else [])
                    missing = [a for a in alternatives if a not in seen[l]]
                    if missing:
                        msg = (f"{s.name}{{{l}}} has no value {', '.join(map(repr, missing))} in the "
                               f"metrics file (used by {where})")
                        # Values the contract says are always exported fail; the others
                        # (a job's status, an alert's state) depend on what the exporter saw.
                        if (s.name, l) in FIXED_VALUES or l in ("window", "outcome"):
                            problems.append(msg)
                        else:
                            warnings.append(msg)
    missing = sorted(n for n in used if not PROMETHEUS_OWN.match(n) and n not in recorded and ":" not in n
                     and not exp.has(n))
    for n in missing:
        problems.append(f"metric {n} is not in {metrics_file} (used by {'; '.join(sorted(used[n]))})")
    for w in sorted(set(warnings)):
        print(f"  warning: {w}")
    exporter_names = sorted(n for n in used if not PROMETHEUS_OWN.match(n) and n not in recorded)
    print(f"  {len(exporter_names)} exporter metric names used, {len(recorded)} recording rules, "
          f"{len(exp.names())} names in {metrics_file}")
    return problems


# --------------------------------------------------------------------------- dashboard PromQL syntax

GRAFANA_DURATIONS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "${__rate_interval}": "1m",
                     "${__interval}": "1m", "${__range}": "1h"}


def write_dashboard_rules(out_path):
    """Writes every dashboard query as a recording rule, Grafana variables replaced, so that
    `promtool check rules` parses them with Prometheus's own parser."""
    rules = []
    for where, expr, is_var in used_queries():
        if is_var or where.startswith(str(RULES.relative_to(ROOT))):
            continue
        try:
            toks = tokens(expr)
        except PromQLError as e:
            print(f"  FAIL: {where}: {e}")
            return 1
        parts = [GRAFANA_DURATIONS.get(t, "1") if kind == "var" else t for kind, t in toks]
        name = re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_]", "_", where)).strip("_")
        rules.append({"record": f"dashboard:{name}:{len(rules)}", "expr": " ".join(parts),
                      "labels": {"dashboard_panel": where}})
    Path(out_path).write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]},
                                             sort_keys=False, width=1000), encoding="utf-8")
    print(f"  {len(rules)} dashboard queries")
    return 0


# --------------------------------------------------------------------------- self test


def selftest():
    cases = {
        'sum by (job_name, outcome) (rate(progress_job_items_processed_total[5m]))':
            ["progress_job_items_processed_total"],
        '(time() - a_ts{job_name=~"$job",agent=~"${agent}"} > 300) and on (job_name, agent) (b{state="running"} == 1)':
            ["a_ts", "b"],
        'histogram_quantile(0.9, sum by (le) (job_name:x_bucket:rate5m{job_name=~"$job"}))': ["job_name:x_bucket:rate5m"],
        'topk($topn, increase(c_total{a="x}y"}[$__range])) offset 1h': ["c_total"],
        'x - on (job_name) group_left () y unless ignoring(a, b) z or vector(0)': ["x", "y", "z"],
        'rate(m[5m:30s]) * 1e3 + {__name__="n", l="v"}': ["m", "n"],
        'count(progress_alert_active{job_name=~"$job",state="firing"} == 1) or vector(0)': ["progress_alert_active"],
        'label_replace(up, "dst", "$1", "instance", "(.*):.*")': ["up"],
        'sum(x) by (job_name) / sum without (outcome) (y) > bool 0.5': ["x", "y"],
    }
    problems = []
    for expr, want in cases.items():
        got = [s.name for s in selectors(expr)]
        if got != want:
            problems.append(f"selectors({expr!r}) = {got}, want {want}")
    got = selectors('a{job_name=~"$job",state="running", outcome!="x"}')[0].matchers
    if got != [("job_name", "=~", "$job"), ("state", "=", "running"), ("outcome", "!=", "x")]:
        problems.append(f"matchers: {got}")
    sels, label = variable_query_selectors('label_values(progress_agent_state{job_name=~"$job"}, agent)')
    if [s.name for s in sels] != ["progress_agent_state"] or label != "agent":
        problems.append(f"label_values: {sels} {label}")
    try:
        selectors("rat(x[5m])")
        problems.append("an unknown function was accepted")
    except PromQLError:
        pass
    exp = parse_exposition('# HELP h_seconds d\n# TYPE h_seconds histogram\nh_seconds_bucket{le="1.0"} 2\n'
                           '# TYPE c counter\nc_total{l="a\\"b"} 1\n')
    if not (exp.has("h_seconds_sum") and exp.has("h_seconds") and exp.has("c_total") and not exp.has("d")):
        problems.append("exposition names")
    if exp.labels_of("c_total") != {"l": {'a"b'}}:
        problems.append(f"exposition labels: {exp.labels_of('c_total')}")
    print(f"  {len(cases) + 4} cases")
    return problems


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd = argv[0]
    if cmd == "dashboards":
        problems = check_dashboards()
    elif cmd == "provisioning":
        problems = check_provisioning()
    elif cmd == "rules-meta":
        problems = check_rules_meta()
    elif cmd == "names" and len(argv) == 2:
        problems = check_names(argv[1])
    elif cmd == "dashboard-rules" and len(argv) == 2:
        return write_dashboard_rules(argv[1])
    elif cmd == "selftest":
        problems = selftest()
    else:
        print(__doc__)
        return 2
    for p in problems:
        print(f"  FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
