#!/usr/bin/env python3
"""Generates the Grafana dashboards in Dashboards/ (the JSON files are committed).

    python3 scripts/monitoring/gen_dashboards.py           # rewrite Dashboards/*.json
    python3 scripts/monitoring/gen_dashboards.py --check   # fail if they differ from this script

Edit the dashboards here, not in the JSON: scripts/check-monitoring-files.sh fails when the
committed JSON and this script disagree. A dashboard changed in Grafana's UI can be brought
back by porting the change here (the JSON diff shows what moved).

Every panel queries the `${datasource}` variable; `job` is a multi-select variable from
label_values(progress_job_items, job_name) whose "All" value is `.*`, so selectors read
`job_name=~"$job"`. Job and agent series carry the tracker's job id as `job_name`; `job` is
the scrape job's name (a plain scrape config, no honor_labels), so tables of raw series hide
it. The exporter's own series are picked by `instance`.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Dashboards"

DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
TAGS = ["progress-exporter"]

# Scrape job name assumed for Prometheus's own series (up, scrape_*), see Alerts/README.md.
SCRAPE_JOB = 'job=~"progress-exporter.*"'

STATE_COLORS = {
    "queued": "#8e8e8e",
    "initializing": "#8ab8ff",
    "running": "#1f60c4",
    "merging": "#a352cc",
    "completed": "#56a64b",
    "retrying": "#ff9830",
    "failed": "#e02f44",
    "dead_lettered": "#8f0b18",
}


# --------------------------------------------------------------------------- building blocks


def target(expr, legend="", ref="A", instant=False, fmt="time_series"):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
        "refId": ref,
    }
    if fmt != "time_series":
        t["format"] = fmt
    return t


def targets(*specs, instant=False, fmt="time_series"):
    """specs: (expr, legend) pairs; refIds A, B, C... in order."""
    return [target(e, l, chr(ord("A") + i), instant, fmt) for i, (e, l) in enumerate(specs)]


def thresholds(*steps):
    """steps: (value or None, color)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


GREEN = thresholds((None, "green"))


def field_defaults(unit="short", min=None, max=None, decimals=None, thr=GREEN, custom=None, mappings=None, color=None):
    d = {"unit": unit, "thresholds": thr, "mappings": mappings or [], "color": color or {"mode": "palette-classic"}}
    if min is not None:
        d["min"] = min
    if max is not None:
        d["max"] = max
    if decimals is not None:
        d["decimals"] = decimals
    if custom is not None:
        d["custom"] = custom
    return d


def ts_custom(stack=False, fill=10, axis_label="", threshold_line=False, draw="line"):
    return {
        "drawStyle": draw,
        "lineWidth": 1,
        "fillOpacity": fill,
        "gradientMode": "none",
        "showPoints": "never",
        "spanNulls": False,
        "axisLabel": axis_label,
        "axisPlacement": "auto",
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "thresholdsStyle": {"mode": "line+area" if threshold_line else "off"},
        "lineInterpolation": "linear",
        "barAlignment": 0,
        "pointSize": 4,
        "scaleDistribution": {"type": "linear"},
        "hideFrom": {"legend": False, "tooltip": False, "viz": False},
    }


def by_name(name, props):
    return {"matcher": {"id": "byName", "options": name}, "properties": props}


def by_regex(regex, props):
    return {"matcher": {"id": "byRegexp", "options": regex}, "properties": props}


def prop(id_, value):
    return {"id": id_, "value": value}


def state_color_overrides():
    return [by_name(s, [prop("color", {"mode": "fixed", "fixedColor": c})]) for s, c in STATE_COLORS.items()]


class Panel:
    def __init__(self, kind, title, description, tgts, w, h, defaults=None, options=None, overrides=None,
                 transformations=None, interval=None):
        self.json = {
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "targets": tgts,
            "fieldConfig": {"defaults": defaults or field_defaults(), "overrides": overrides or []},
            "options": options or {},
        }
        if transformations:
            self.json["transformations"] = transformations
        if interval:
            self.json["interval"] = interval
        self.w, self.h = w, h


REDUCE_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}


def legend(mode="list", placement="bottom", calcs=None):
    return {"displayMode": mode, "placement": placement, "showLegend": True, "calcs": calcs or []}


def timeseries(title, description, tgts, unit="short", w=12, h=8, stack=False, min=None, max=None, fill=10,
               axis_label="", overrides=None, thr=GREEN, threshold_line=False, legend_opts=None, decimals=None):
    return Panel(
        "timeseries", title, description, tgts, w, h,
        defaults=field_defaults(unit, min, max, decimals, thr,
                                custom=ts_custom(stack, fill, axis_label, threshold_line)),
        options={"legend": legend_opts or legend("table", "right", ["lastNotNull", "max"]),
                 "tooltip": {"mode": "multi", "sort": "desc"}},
        overrides=overrides,
    )


def stat(title, description, tgts, unit="short", w=4, h=4, thr=GREEN, mappings=None, text_mode="auto",
         color_mode="value", graph="none", decimals=None):
    return Panel(
        "stat", title, description, tgts, w, h,
        defaults=field_defaults(unit, decimals=decimals, thr=thr, mappings=mappings, color={"mode": "thresholds"}),
        options={"reduceOptions": REDUCE_LAST, "colorMode": color_mode, "graphMode": graph, "justifyMode": "auto",
                 "orientation": "auto", "textMode": text_mode, "wideLayout": True, "showPercentChange": False},
    )


def bargauge(title, description, tgts, unit="percentunit", w=12, h=8, min=0, max=1, thr=None):
    return Panel(
        "bargauge", title, description, tgts, w, h,
        defaults=field_defaults(unit, min, max, thr=thr or thresholds((None, "blue")),
                                color={"mode": "thresholds"}),
        options={"reduceOptions": REDUCE_LAST, "displayMode": "gradient", "orientation": "horizontal",
                 "showUnfilled": True, "valueMode": "color", "namePlacement": "auto", "sizing": "auto",
                 "minVizWidth": 8, "minVizHeight": 16, "maxVizHeight": 300},
    )


def table(title, description, tgts, w=12, h=8, renames=None, overrides=None, exclude=("Time",), sort_by=None,
          unit="short", merge=True):
    transformations = []
    if merge and len(tgts) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({
        "id": "organize",
        "options": {"excludeByName": {name: True for name in exclude}, "indexByName": {},
                    "renameByName": renames or {}},
    })
    opts = {"showHeader": True, "cellHeight": "sm",
            "footer": {"show": False, "reducer": ["sum"], "countRows": False, "fields": ""}}
    if sort_by:
        opts["sortBy"] = [{"displayName": sort_by[0], "desc": sort_by[1]}]
    return Panel(
        "table", title, description, tgts, w, h,
        defaults=field_defaults(unit, custom={"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
                                color={"mode": "thresholds"}),
        options=opts, overrides=overrides, transformations=transformations,
    )


def heatmap(title, description, tgts, w=12, h=8):
    p = Panel(
        "heatmap", title, description, tgts, w, h,
        defaults=field_defaults("short", custom={"hideFrom": {"legend": False, "tooltip": False, "viz": False},
                                                 "scaleDistribution": {"type": "linear"}}),
        options={
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "fill": "dark-orange", "scale": "exponential",
                      "exponent": 0.5, "steps": 64, "reverse": False},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"mode": "single", "show": True, "yHistogram": False, "showColorScale": False},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": "s"},
            "showValue": "never",
        },
    )
    return p


class Row:
    def __init__(self, title):
        self.title = title


def layout(items):
    """Places panels left to right in rows of 24 columns; a Row starts a new line."""
    panels, x, y, line_h, next_id = [], 0, 0, 0, 1
    for item in items:
        if isinstance(item, Row):
            if x:
                y, x, line_h = y + line_h, 0, 0
            panels.append({"type": "row", "title": item.title, "collapsed": False, "id": next_id,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            next_id += 1
            y += 1
            continue
        if x + item.w > 24:
            y, x, line_h = y + line_h, 0, 0
        p = dict(item.json)
        p["id"] = next_id
        p["gridPos"] = {"h": item.h, "w": item.w, "x": x, "y": y}
        next_id += 1
        panels.append(p)
        x += item.w
        line_h = max(line_h, item.h)
    return panels


# --------------------------------------------------------------------------- variables


def datasource_var():
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False}


def query_var(name, label, query, multi=True, include_all=True, sort=1):
    v = {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2, "regex": "", "sort": sort, "hide": 0, "skipUrlSync": False,
        "multi": multi, "includeAll": include_all, "options": [],
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {},
    }
    if include_all:
        v["allValue"] = ".*"
    return v


def job_var():
    return query_var("job", "Job", "label_values(progress_job_items, job_name)")


def custom_var(name, label, values, default):
    return {
        "name": name, "label": label, "type": "custom", "query": ",".join(values), "hide": 0,
        "multi": False, "includeAll": False, "skipUrlSync": False,
        "current": {"selected": True, "text": default, "value": default},
        "options": [{"selected": v == default, "text": v, "value": v} for v in values],
    }


def dashboard(uid, title, description, items, variables, refresh="30s", time_from="now-6h"):
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": TAGS,
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "weekStart": "",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [{"title": "progress-exporter", "type": "dashboards", "tags": TAGS, "asDropdown": True,
                   "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
                   "tooltip": "", "url": ""}],
        "templating": {"list": variables},
        "panels": layout(items),
    }


# --------------------------------------------------------------------------- 1. jobs overview

J = 'job_name=~"$job"'


def jobs_overview():
    items = [
        Row("Summary"),
        stat("Running jobs", "How many of the selected jobs are running now?",
             targets((f'count(progress_job_info{{{J},status="running"}} == 1) or vector(0)', "running"))),
        stat("Items remaining", "How many items are left across the selected jobs?",
             targets((f"sum(progress_job_items_remaining{{{J}}})", "remaining"))),
        stat("Throughput (5m)", "How many items per second finish across the selected jobs (exporter's rolling 5m window)?",
             targets((f'sum(progress_job_throughput_items_per_second{{{J},window="5m"}})', "items/s")),
             unit="short", decimals=2),
        stat("Longest ETC", "How long until the last of the selected jobs is done, at current throughput?",
             targets((f"max(progress_job_eta_seconds{{{J}}})", "ETC")), unit="s"),
        stat("Agents running", "How many agents are running in the selected jobs (all agents, not sampled)?",
             targets((f'sum(progress_job_agents{{{J},state="running"}})', "running"))),
        stat("Firing alerts", "Are any alerts firing: built-in (progress_alert_active) plus Prometheus rules (ALERTS)?",
             targets((f'count(progress_alert_active{{{J},state="firing"}} == 1) or vector(0)', "built-in"),
                     (f'count(ALERTS{{alertstate="firing",{J}}}) or vector(0)', "Prometheus")),
             thr=thresholds((None, "green"), (1, "red")), text_mode="value_and_name", color_mode="background"),

        Row("Progress"),
        bargauge("Progress per job", "How far along is each job (finished / planned items)?",
                 targets((f"max by (job_name) (progress_job_progress_ratio{{{J}}})", "{{job_name}}"), instant=True),
                 w=10, h=9),
        table("Jobs", "For each job: planned, done and remaining items, throughput, ETC and estimated finish "
                      "against its deadline, success ratio, age of its last event. Empty cells: no planned total, "
                      "no estimate or no deadline yet.",
              targets((f"max by (job_name) (progress_job_items{{{J}}})", ""),
                      (f"max by (job_name) (progress_job_items{{{J}}} - progress_job_items_remaining{{{J}}})", ""),
                      (f"max by (job_name) (progress_job_items_remaining{{{J}}})", ""),
                      (f"max by (job_name) (progress_job_progress_ratio{{{J}}})", ""),
                      (f'max by (job_name) (progress_job_throughput_items_per_second{{{J},window="5m"}})', ""),
                      (f"max by (job_name) (progress_job_eta_seconds{{{J}}})", ""),
                      (f"max by (job_name) (progress_job_estimated_completion_timestamp_seconds{{{J}}}) * 1000", ""),
                      (f"max by (job_name) (progress_job_deadline_timestamp_seconds{{{J}}}) * 1000", ""),
                      (f'max by (job_name) (progress_job_success_ratio{{{J},window="5m"}})', ""),
                      (f"max by (job_name) (time() - progress_job_last_event_timestamp_seconds{{{J}}})", ""),
                      instant=True, fmt="table"),
              w=14, h=9,
              renames={"job_name": "Job", "Value #A": "Planned", "Value #B": "Done", "Value #C": "Remaining",
                       "Value #D": "Progress", "Value #E": "Items/s (5m)", "Value #F": "ETC",
                       "Value #G": "Estimated finish", "Value #H": "Deadline", "Value #I": "Success (5m)",
                       "Value #J": "Last event"},
              overrides=[
                  by_name("Progress", [prop("unit", "percentunit"), prop("min", 0), prop("max", 1),
                                       prop("custom.cellOptions", {"type": "gauge", "mode": "basic"})]),
                  by_name("Items/s (5m)", [prop("decimals", 2)]),
                  by_name("ETC", [prop("unit", "s")]),
                  by_name("Estimated finish", [prop("unit", "dateTimeAsIso")]),
                  by_name("Deadline", [prop("unit", "dateTimeAsIso")]),
                  by_name("Success (5m)", [prop("unit", "percentunit"), prop("decimals", 1)]),
                  by_name("Last event", [prop("unit", "s")]),
              ], sort_by=("Progress", False)),
        timeseries("Items done / remaining", "How do finished and remaining items move over time?",
                   targets((f"progress_job_items_remaining{{{J}}}", "{{job_name}} remaining"),
                           (f"progress_job_items{{{J}}} - progress_job_items_remaining{{{J}}}", "{{job_name}} done")),
                   w=12),
        timeseries("Job status", "Which jobs are running, paused, completed, failed or cancelled?",
                   targets((f"count by (status) (progress_job_info{{{J}}} == 1)", "{{status}}")),
                   w=12, stack=True, fill=60, min=0, decimals=0),

        Row("Throughput and completion"),
        timeseries("Throughput (exporter, 1m / 5m)",
                   "How many items per second finish, over rolling 1m and 5m windows computed from event times "
                   "at full resolution?",
                   targets((f'progress_job_throughput_items_per_second{{{J},window="1m"}}', "{{job_name}} 1m"),
                           (f'progress_job_throughput_items_per_second{{{J},window="5m"}}', "{{job_name}} 5m")),
                   axis_label="items/s", min=0),
        timeseries("Items processed per second (Prometheus rate)",
                   "How fast do item events arrive by outcome, from the counters (recording rules "
                   "job_name_outcome:progress_job_items_processed:rate1m and :rate5m)?",
                   targets((f'job_name_outcome:progress_job_items_processed:rate1m{{{J},outcome="completed"}}',
                            "{{job_name}} completed 1m"),
                           (f'job_name_outcome:progress_job_items_processed:rate5m{{{J}}}', "{{job_name}} {{outcome}} 5m")),
                   axis_label="items/s", min=0),
        timeseries("Estimated time to completion", "How long until each job is done? The dashed lines are the "
                                                   "estimate's 80 % interval: the job should end between them four "
                                                   "times in five. (Gaps: no estimate yet, e.g. nothing finished.)",
                   targets((f"progress_job_eta_seconds{{{J}}}", "{{job_name}}"),
                           (f"progress_job_eta_lower_bound_seconds{{{J}}}", "{{job_name}} 80 % low"),
                           (f"progress_job_eta_upper_bound_seconds{{{J}}}", "{{job_name}} 80 % high")),
                   unit="s", min=0,
                   overrides=[{"matcher": {"id": "byRegexp", "options": ".* 80 % (low|high)$"},
                               "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [6, 4]}},
                                              {"id": "custom.fillOpacity", "value": 0},
                                              {"id": "custom.lineWidth", "value": 1}]}]),
        stat("Estimated finish time", "When will each job finish, and what is its deadline?",
             targets((f"progress_job_estimated_completion_timestamp_seconds{{{J}}} * 1000", "{{job_name}} estimate"),
                     (f"progress_job_deadline_timestamp_seconds{{{J}}} * 1000", "{{job_name}} deadline")),
             unit="dateTimeAsIso", w=12, h=8, text_mode="value_and_name"),

        Row("Agents, failures and retries"),
        timeseries("Agents by state", "How many agents are in each state over time (all agents, exact)?",
                   targets((f"sum by (state) (progress_job_agents{{{J}}})", "{{state}}")),
                   stack=True, fill=40, min=0, decimals=0, overrides=state_color_overrides()),
        timeseries("Success ratio", "Which share of attempts succeeds: the exporter's rolling windows and the "
                                    "Prometheus-side 5m ratio from the counters?",
                   targets((f'progress_job_success_ratio{{{J},window="1m"}}', "{{job_name}} 1m"),
                           (f'progress_job_success_ratio{{{J},window="5m"}}', "{{job_name}} 5m"),
                           (f"1 - job_name:progress_job_items_failed:ratio_rate5m{{{J}}}", "{{job_name}} 5m (Prometheus)")),
                   unit="percentunit", min=0, max=1),
        timeseries("Failures, dead letters and retries", "How often do attempts fail, items get dead-lettered, "
                                                         "and agents retry? Retries come from the sampled agents.",
                   targets((f'job_name_outcome:progress_job_items_processed:rate5m{{{J},outcome=~"failed|dead_lettered"}}',
                            "{{job_name}} {{outcome}}"),
                           (f"job_name:progress_agent_retries:rate5m{{{J}}}", "{{job_name}} retries (sampled agents)"),
                           (f'sum by (job_name) (progress_job_agents{{{J},state=~"retrying|failed|dead_lettered"}})',
                            "{{job_name}} agents retrying/failed (count)")),
                   axis_label="per second", min=0,
                   overrides=[by_regex(".*\\(count\\)", [prop("custom.axisPlacement", "right"), prop("unit", "short"),
                                                         prop("custom.axisLabel", "agents")])]),
        timeseries("Item failures over the range", "How many failed attempts and dead-lettered items per job in "
                                                   "each interval?",
                   targets((f'sum by (job_name, outcome) (increase(progress_job_items_processed_total{{{J},outcome=~"failed|dead_lettered"}}[$__rate_interval]))',
                            "{{job_name}} {{outcome}}")),
                   min=0, decimals=0, stack=True, fill=60),

        Row("Alerts"),
        table("Active alerts (built-in)", "Which built-in alerts of the exporter are firing or pending now?",
              targets((f"progress_alert_active{{{J}}} == 1", ""), instant=True, fmt="table"),
              exclude=("Time", "Value", "__name__", "instance", "job"),
              renames={"alertname": "Alert", "severity": "Severity", "job_name": "Job", "agent": "Agent",
                       "state": "State"}),
        table("Active alerts (Prometheus rules)", "Which Prometheus alerting rules (Alerts/progress-exporter.rules.yml)"
                                                  " are firing or pending now?",
              targets((f'ALERTS{{alertname=~"Agent.*|Job.*|ProgressExporter.*",{J}}}', ""), instant=True, fmt="table"),
              exclude=("Time", "Value", "__name__", "job"),
              renames={"alertname": "Alert", "alertstate": "State", "severity": "Severity", "job_name": "Job",
                       "agent": "Agent"}),
        timeseries("Built-in alerts over time", "How many built-in alerts were pending or firing, by name?",
                   targets((f"count by (alertname, state) (progress_alert_active{{{J}}} == 1)",
                            "{{alertname}} {{state}}")),
                   w=24, h=7, min=0, decimals=0, stack=True, fill=40),
    ]
    return dashboard("progress-jobs-overview", "Progress / Jobs overview",
                     "Progress, throughput, ETC, agents, failures and alerts of the jobs that progress-exporter "
                     "tracks.", items, [datasource_var(), job_var()])


# --------------------------------------------------------------------------- 2. agents

A = 'job_name=~"$job",agent=~"$agent"'
RUNNING = '(progress_agent_state{state="running"} == 1)'


def agents():
    items = [
        Row("Sample"),
        stat("Agents (all)", "How many agents do the selected jobs have (job aggregates count every agent)?",
             targets((f"sum(progress_job_agents{{{J}}})", "agents"))),
        stat("Agents with series", "How many of them have per-agent series (the sample these panels show)?",
             targets((f"count(count by (job_name, agent) (progress_agent_state{{{J}}})) or vector(0)", "sampled"))),
        stat("Agent series kept / dropped", "How many agents does the exporter keep and drop per-agent series "
                                            "for (all jobs)?",
             targets(("sum by (series) (progress_exporter_agent_series)", "{{series}}")), text_mode="value_and_name"),
        stat("Running (sampled)", "How many sampled agents are running?",
             targets((f'sum(progress_agent_state{{{A},state="running"}})', "running"))),
        stat("Stalled (sampled)", "How many sampled running agents made no progress for more than 5m?",
             targets((f"count((time() - progress_agent_last_progress_timestamp_seconds{{{A}}} > 300) "
                      f"and on (job_name, agent) {RUNNING}) or vector(0)", "stalled")),
             thr=thresholds((None, "green"), (1, "orange"))),
        stat("Lost (sampled)", "How many sampled agents not in a final state sent nothing for more than 5m?",
             targets((f"count((time() - progress_agent_last_seen_timestamp_seconds{{{A}}} > 300) "
                      f'unless on (job_name, agent) (progress_agent_state{{state=~"completed|failed|dead_lettered"}} == 1)) '
                      f"or vector(0)", "lost")),
             thr=thresholds((None, "green"), (1, "red"))),

        Row("Slow and stuck agents"),
        table("Top $topn slowest running agents", "Which running agents will take longest to finish their item "
                                                  "(highest ETA), with their throughput and progress?",
              targets((f"topk($topn, progress_agent_eta_seconds{{{A}}} and on (job_name, agent) {RUNNING})", ""),
                      (f"progress_agent_throughput_items_per_second{{{A}}} and on (job_name, agent) "
                       f"topk($topn, progress_agent_eta_seconds{{{A}}} and on (job_name, agent) {RUNNING})", ""),
                      (f"progress_agent_progress_ratio{{{A}}} and on (job_name, agent) "
                       f"topk($topn, progress_agent_eta_seconds{{{A}}} and on (job_name, agent) {RUNNING})", ""),
                      instant=True, fmt="table"),
              exclude=("Time", "instance", "job"),
              renames={"job_name": "Job", "agent": "Agent", "Value #A": "ETA", "Value #B": "Items/s",
                       "Value #C": "Progress"},
              overrides=[by_name("ETA", [prop("unit", "s")]), by_name("Items/s", [prop("decimals", 3)]),
                         by_name("Progress", [prop("unit", "percentunit"), prop("min", 0), prop("max", 1),
                                              prop("custom.cellOptions", {"type": "gauge", "mode": "basic"})])],
              sort_by=("ETA", True)),
        table("Top $topn lowest-throughput running agents", "Which running agents finish the fewest items per second?",
              targets((f"bottomk($topn, progress_agent_throughput_items_per_second{{{A}}} and on (job_name, agent) {RUNNING})",
                       ""), instant=True, fmt="table"),
              exclude=("Time", "instance", "job"),
              renames={"job_name": "Job", "agent": "Agent", "Value": "Items/s"},
              overrides=[by_name("Items/s", [prop("decimals", 3)])], sort_by=("Items/s", False)),
        table("Stalled agents", "Which running agents made no progress for more than 5m (AgentStalled's "
                                "threshold), longest first?",
              targets((f"topk($topn, (time() - progress_agent_last_progress_timestamp_seconds{{{A}}} > 300) "
                       f"and on (job_name, agent) {RUNNING})", ""), instant=True, fmt="table"),
              exclude=("Time", "instance", "job"),
              renames={"job_name": "Job", "agent": "Agent", "Value": "No progress for"},
              overrides=[by_name("No progress for", [prop("unit", "s")])], sort_by=("No progress for", True)),
        table("Lost agents", "Which agents not in a final state sent no event, not even a heartbeat, for more than "
                             "5m (AgentLost's threshold)?",
              targets((f"topk($topn, (time() - progress_agent_last_seen_timestamp_seconds{{{A}}} > 300) "
                       f'unless on (job_name, agent) (progress_agent_state{{state=~"completed|failed|dead_lettered"}} == 1))',
                       ""), instant=True, fmt="table"),
              exclude=("Time", "instance", "job"),
              renames={"job_name": "Job", "agent": "Agent", "Value": "Silent for"},
              overrides=[by_name("Silent for", [prop("unit", "s")])], sort_by=("Silent for", True)),
        table("Failing agents", "Which agents have consecutive failures now, and how many retries and failed "
                                "attempts over the dashboard's time range?",
              targets((f"topk($topn, progress_agent_consecutive_failures{{{A}}} > 0)", ""),
                      (f"increase(progress_agent_retries_total{{{A}}}[$__range]) and on (job_name, agent) "
                       f"topk($topn, progress_agent_consecutive_failures{{{A}}} > 0)", ""),
                      (f'sum without (outcome) (increase(progress_agent_items_processed_total{{{A},outcome="failed"}}[$__range])) '
                       f"and on (job_name, agent) topk($topn, progress_agent_consecutive_failures{{{A}}} > 0)", ""),
                      instant=True, fmt="table"),
              w=24, h=7, exclude=("Time", "instance", "job"),
              renames={"job_name": "Job", "agent": "Agent", "Value #A": "Consecutive failures",
                       "Value #B": "Retries (range)", "Value #C": "Failed attempts (range)"},
              overrides=[by_name("Retries (range)", [prop("decimals", 0)]),
                         by_name("Failed attempts (range)", [prop("decimals", 0)])],
              sort_by=("Consecutive failures", True)),

        Row("Per-agent progress"),
        bargauge("Running agents, least progress first", "Which running agents are furthest from finishing their "
                                                         "current item (bottom $topn)?",
                 targets((f"bottomk($topn, progress_agent_progress_ratio{{{A}}} and on (job_name, agent) {RUNNING})",
                          "{{job_name}} / {{agent}}"), instant=True)),
        timeseries("Last progress age", "How long ago did each selected agent last make progress? The line is "
                                        "AgentStalled's 5m threshold.",
                   targets((f"time() - progress_agent_last_progress_timestamp_seconds{{{A}}}", "{{job_name}} / {{agent}}")),
                   unit="s", min=0, threshold_line=True, thr=thresholds((None, "transparent"), (300, "orange")),
                   legend_opts=legend("list", "bottom")),
        timeseries("Agent progress", "How does each selected agent's progress on its current item move?",
                   targets((f"progress_agent_progress_ratio{{{A}}}", "{{job_name}} / {{agent}}")),
                   unit="percentunit", min=0, max=1, legend_opts=legend("list", "bottom")),
        timeseries("Agent throughput", "How many items per second does each selected agent finish?",
                   targets((f"progress_agent_throughput_items_per_second{{{A}}}", "{{job_name}} / {{agent}}")),
                   axis_label="items/s", min=0, legend_opts=legend("list", "bottom")),
        timeseries("Sampled agents by state", "Which states are the selected sampled agents in over time?",
                   targets((f"sum by (state) (progress_agent_state{{{A}}})", "{{state}}")),
                   stack=True, fill=40, min=0, decimals=0, overrides=state_color_overrides()),
        bargauge("Top $topn agents by completed items", "Which agents completed the most items over the "
                                                        "dashboard's time range?",
                 targets((f'topk($topn, sum by (job_name, agent) (increase(progress_agent_items_processed_total{{{A},outcome="completed"}}[$__range])))',
                          "{{job_name}} / {{agent}}"), instant=True),
                 unit="short", min=0, max=None, thr=thresholds((None, "green"))),

        Row("Item durations"),
        heatmap("Item duration distribution", "How long do items take? Buckets of progress_job_item_duration_seconds "
                                              "over all selected jobs (every agent, not sampled).",
                targets((f"sum by (le) (increase(progress_job_item_duration_seconds_bucket{{{J}}}[$__rate_interval]))",
                         "{{le}}"), fmt="heatmap")),
        timeseries("Item duration quantiles", "What are the median, p90 and p99 item durations, and the mean?",
                   targets((f"histogram_quantile(0.5, sum by (le) (job_name:progress_job_item_duration_seconds_bucket:rate5m{{{J}}}))",
                            "p50"),
                           (f"histogram_quantile(0.9, sum by (le) (job_name:progress_job_item_duration_seconds_bucket:rate5m{{{J}}}))",
                            "p90"),
                           (f"histogram_quantile(0.99, sum by (le) (job_name:progress_job_item_duration_seconds_bucket:rate5m{{{J}}}))",
                            "p99"),
                           (f"sum(rate(progress_job_item_duration_seconds_sum{{{J}}}[5m])) / "
                            f"sum(rate(progress_job_item_duration_seconds_count{{{J}}}[5m]))", "mean")),
                   unit="s", min=0),
    ]
    variables = [
        datasource_var(), job_var(),
        query_var("agent", "Agent", 'label_values(progress_agent_state{job_name=~"$job"}, agent)'),
        custom_var("topn", "Top N", ["5", "10", "20", "50"], "10"),
    ]
    return dashboard("progress-agents", "Progress / Agents",
                     "Slowest, stalled, lost and failing agents, per-agent progress and item durations. Agent "
                     "series are sampled by the exporter (--agents.max-series); the Sample row says how many.",
                     items, variables)


# --------------------------------------------------------------------------- 3. exporter health

I = 'instance=~"$instance"'


def exporter_health():
    items = [
        Row("Overview"),
        stat("Up", "Can Prometheus scrape each exporter (scrape job progress-exporter*)?",
             targets((f"up{{{SCRAPE_JOB},{I}}}", "{{instance}}")),
             thr=thresholds((None, "red"), (1, "green")), color_mode="background", text_mode="value_and_name",
             mappings=[{"type": "value", "options": {"0": {"text": "DOWN", "index": 0},
                                                     "1": {"text": "UP", "index": 1}}}]),
        stat("Uptime", "How long has each exporter process been running?",
             targets((f"time() - process_start_time_seconds{{{I}}}", "{{instance}}")), unit="s"),
        stat("Tracked jobs", "How many jobs does the exporter keep state for?",
             targets((f"sum(progress_exporter_tracked_jobs{{{I}}})", "jobs"))),
        stat("Tracked agents", "How many agents does the exporter keep state for?",
             targets((f"sum(progress_exporter_tracked_agents{{{I}}})", "agents"))),
        stat("Agent series dropped", "How many agents have no per-agent series because of sampling "
                                     "(--agents.max-series)?",
             targets((f'sum(progress_exporter_agent_series{{{I},series="dropped"}})', "dropped")),
             thr=thresholds((None, "green"), (1, "blue"))),
        table("Build", "Which version and revision does each exporter run?",
              targets((f"progress_exporter_build_info{{{I}}}", ""), instant=True, fmt="table"), w=4, h=4,
              exclude=("Time", "Value", "__name__", "job")),

        Row("Events"),
        timeseries("Events received by source", "How many events per second arrive, per source (HTTP, files, "
                                                 "stdin, subscriptions)?",
                   targets((f"sum by (instance, source) (rate(progress_exporter_events_received_total{{{I}}}[$__rate_interval]))",
                            "{{instance}} {{source}}")),
                   axis_label="events/s", min=0),
        timeseries("Events rejected by reason", "How many events per second are rejected, and why?",
                   targets((f"sum by (instance, reason) (rate(progress_exporter_events_rejected_total{{{I}}}[$__rate_interval]))",
                            "{{instance}} {{reason}}")),
                   axis_label="events/s", min=0),
        timeseries("Events ignored by kind", "Which known foreign event kinds (no progress in them) are skipped?",
                   targets((f"sum by (instance, kind) (rate(progress_exporter_events_ignored_total{{{I}}}[$__rate_interval]))",
                            "{{instance}} {{kind}}")),
                   axis_label="events/s", min=0),
        timeseries("Time since last event by source", "How long ago did each source deliver its last event? "
                                                      "A source that went quiet shows up here first.",
                   targets((f"time() - progress_exporter_last_event_timestamp_seconds{{{I}}}", "{{instance}} {{source}}")),
                   unit="s", min=0),
        table("Quietest jobs", "Which of the selected jobs have not sent an event for the longest time?",
              targets((f"topk(20, time() - progress_job_last_event_timestamp_seconds{{{I},{J}}})", ""),
                      instant=True, fmt="table"),
              w=24, h=7, exclude=("Time", "job"),
              renames={"instance": "Exporter", "job_name": "Job", "Value": "Last event"},
              overrides=[by_name("Last event", [prop("unit", "s")])], sort_by=("Last event", True)),

        Row("Tracking and sampling"),
        timeseries("Tracked jobs and agents", "How many jobs and agents are kept in memory? (Finished ones expire "
                                              "after the retention time.)",
                   targets((f"progress_exporter_tracked_jobs{{{I}}}", "{{instance}} jobs"),
                           (f"progress_exporter_tracked_agents{{{I}}}", "{{instance}} agents")),
                   min=0, decimals=0),
        timeseries("Agent series kept / dropped", "How many agents get per-agent series (kept) and how many are "
                                                  "sampled out (dropped)?",
                   targets((f"sum by (instance, series) (progress_exporter_agent_series{{{I}}})",
                            "{{instance}} {{series}}")),
                   min=0, decimals=0, stack=True, fill=40),

        Row("Scrape cost"),
        timeseries("Scrape duration", "How long does rendering /metrics take in the exporter, and the whole scrape "
                                      "as Prometheus measures it?",
                   targets((f"progress_exporter_scrape_duration_seconds{{{I}}}", "{{instance}} render (exporter)"),
                           (f"scrape_duration_seconds{{{SCRAPE_JOB},{I}}}", "{{instance}} scrape (Prometheus)")),
                   unit="s", min=0),
        timeseries("Samples per scrape", "How many samples does each scrape return (the series cost in "
                                         "Prometheus)?",
                   targets((f"scrape_samples_scraped{{{SCRAPE_JOB},{I}}}", "{{instance}} scraped"),
                           (f"scrape_samples_post_metric_relabeling{{{SCRAPE_JOB},{I}}}", "{{instance}} kept after relabeling")),
                   min=0, decimals=0),

        Row("Alerting"),
        timeseries("Alert notifications by receiver and result", "Are alert notifications delivered (Alertmanager, "
                                                                 "webhooks, commands, log), or failing?",
                   targets((f"sum by (instance, receiver, result) (increase(progress_exporter_alert_notifications_total{{{I}}}[$__rate_interval]))",
                            "{{instance}} {{receiver}} {{result}}")),
                   min=0, stack=True, fill=40),
        timeseries("Built-in alerts pending / firing", "How many built-in alerts are pending or firing?",
                   targets((f"count by (instance, state) (progress_alert_active{{{I}}} == 1)", "{{instance}} {{state}}")),
                   min=0, decimals=0, stack=True, fill=40),

        Row("Process"),
        timeseries("Memory", "How much memory does the exporter use (resident and virtual)? Resident should stay "
                             "flat as jobs expire.",
                   targets((f"process_resident_memory_bytes{{{I}}}", "{{instance}} resident"),
                           (f"process_virtual_memory_bytes{{{I}}}", "{{instance}} virtual")),
                   unit="bytes", min=0, w=8),
        timeseries("CPU", "How much CPU does the exporter use (1 = one core)?",
                   targets((f"rate(process_cpu_seconds_total{{{I}}}[$__rate_interval])", "{{instance}}")),
                   unit="percentunit", min=0, w=8),
        timeseries("Open file descriptors", "How many file descriptors are open, against the limit?",
                   targets((f"process_open_fds{{{I}}}", "{{instance}} open"),
                           (f"process_max_fds{{{I}}}", "{{instance}} max")),
                   min=0, decimals=0, w=8),
    ]
    variables = [
        datasource_var(), job_var(),
        query_var("instance", "Exporter", "label_values(progress_exporter_build_info, instance)"),
    ]
    return dashboard("progress-exporter-health", "Progress / Exporter health",
                     "Is progress-exporter itself healthy: scrapes, events in and rejected, tracked state, "
                     "sampling, scrape cost, notifications, memory and CPU.", items, variables, time_from="now-24h")


# --------------------------------------------------------------------------- main

DASHBOARDS = {
    "jobs-overview.json": jobs_overview,
    "agents.json": agents,
    "exporter-health.json": exporter_health,
}


def render(build):
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = OUT / name
        text = render(build)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date with scripts/monitoring/gen_dashboards.py (run it): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
