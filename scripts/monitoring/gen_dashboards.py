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

The dashboards are built with Grafana's Python SDK (grafana-foundation-sdk, the build for Grafana
10.4 pinned in scripts/monitoring/requirements.txt; scripts/install-deps.sh installs it): the SDK
lays the panels out and writes the JSON. Two things it cannot express are set after building:
schemaVersion 39 (the 10.4 build writes 36 and has no setter) and the query variables'
`definition` (the text Grafana's variable list shows; not in the SDK's model).
"""

import json
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Dashboards"

# The SDK's output differs between its builds: run only with the pinned one.
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
SDK_PIN = re.search(r"^grafana-foundation-sdk==(\S+)$", REQUIREMENTS.read_text(encoding="utf-8"), re.M).group(1)
try:
    _sdk = metadata.version("grafana-foundation-sdk")
except metadata.PackageNotFoundError:
    _sdk = None
if _sdk != SDK_PIN:
    sys.exit(f"gen_dashboards.py needs grafana-foundation-sdk=={SDK_PIN} (found {_sdk or 'none'}): "
             "run scripts/install-deps.sh")

from grafana_foundation_sdk.builders import (bargauge as bg, common as cb, dashboard as db, heatmap as hm,  # noqa: E402
                                             prometheus, stat as st, table as tb, timeseries as ts)
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402
from grafana_foundation_sdk.models import common as c, dashboard as md, heatmap as hmm, prometheus as pm  # noqa: E402

DS = md.DataSourceRef(type_val="prometheus", uid="${datasource}")
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
    q = (prometheus.Dataquery().datasource(DS).editor_mode(pm.QueryEditorMode.CODE).expr(expr)
         .legend_format(legend or "__auto").ref_id(ref))
    q = q.instant() if instant else q.range()
    if fmt != "time_series":
        q.format(pm.PromQueryFormat(fmt))
    return q


def targets(*specs, instant=False, fmt="time_series"):
    """specs: (expr, legend) pairs; refIds A, B, C... in order."""
    return [target(e, l, chr(ord("A") + i), instant, fmt) for i, (e, l) in enumerate(specs)]


def thresholds(*steps):
    """steps: (value or None, color)."""
    return db.ThresholdsConfig().mode(md.ThresholdsMode.ABSOLUTE).steps([md.Threshold(v, c) for v, c in steps])


GREEN = thresholds((None, "green"))
Row = db.Row  # Row(title) starts a new line of panels


# Field overrides: (matcher id, matcher option, properties), applied by panel().


def by_name(name, props):
    return ("byName", name, props)


def by_regex(regex, props):
    return ("byRegexp", regex, props)


def prop(id_, value):
    return md.DynamicConfigValue(id_, value)


def state_color_overrides():
    return [by_name(s, [prop("color", {"mode": "fixed", "fixedColor": c})]) for s, c in STATE_COLORS.items()]


def panel(builder, title, description, tgts, w, h, unit="short", min=None, max=None, decimals=None, thr=GREEN,
          mappings=None, color=None, overrides=None):
    """What every panel has: queries, size, unit, thresholds, colour mode, field overrides."""
    p = (builder.title(title).description(description).datasource(DS).targets(tgts).span(w).height(h)
         .unit(unit).thresholds(thr).mappings(mappings or []).color_scheme(db.FieldColor().mode(color)))
    for v, setter in ((min, p.min), (max, p.max), (decimals, p.decimals)):
        if v is not None:
            setter(v)
    for kind, match, props in overrides or []:
        p.with_override(md.MatcherConfig(kind, match), props)
    return p


PALETTE, BY_THRESHOLDS = md.FieldColorModeId.PALETTE_CLASSIC, md.FieldColorModeId.THRESHOLDS
REDUCE_LAST = cb.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def legend(mode="list", placement="bottom", calcs=None):
    return (cb.VizLegendOptions().display_mode(c.LegendDisplayMode(mode)).placement(c.LegendPlacement(placement))
            .show_legend(True).calcs(calcs or []))


def timeseries(title, description, tgts, unit="short", w=12, h=8, stack=False, min=None, max=None, fill=10,
               axis_label="", overrides=None, thr=GREEN, threshold_line=False, legend_opts=None, decimals=None):
    return (panel(ts.Panel(), title, description, tgts, w, h, unit, min, max, decimals, thr, color=PALETTE,
                  overrides=overrides)
            .draw_style(c.GraphDrawStyle.LINE).line_width(1).fill_opacity(fill).gradient_mode(c.GraphGradientMode.NONE)
            .show_points(c.VisibilityMode.NEVER).span_nulls(False).axis_label(axis_label)
            .axis_placement(c.AxisPlacement.AUTO)
            .stacking(cb.StackingConfig().mode(c.StackingMode.NORMAL if stack else c.StackingMode.NONE).group("A"))
            .thresholds_style(cb.GraphThresholdsStyleConfig().mode(
                c.GraphThresholdsStyleMode.LINE_AND_AREA if threshold_line else c.GraphThresholdsStyleMode.OFF))
            .line_interpolation(c.LineInterpolation.LINEAR).bar_alignment(c.BarAlignment.CENTER).point_size(4)
            .scale_distribution(cb.ScaleDistributionConfig().type(c.ScaleDistribution.LINEAR))
            .hide_from(cb.HideSeriesConfig().legend(False).tooltip(False).viz(False))
            .legend(legend_opts or legend("table", "right", ["lastNotNull", "max"]))
            .tooltip(cb.VizTooltipOptions().mode(c.TooltipDisplayMode.MULTI).sort(c.SortOrder.DESCENDING)))


def stat(title, description, tgts, unit="short", w=4, h=4, thr=GREEN, mappings=None, text_mode="auto",
         color_mode="value", graph="none", decimals=None):
    return (panel(st.Panel(), title, description, tgts, w, h, unit, decimals=decimals, thr=thr, mappings=mappings,
                  color=BY_THRESHOLDS)
            .reduce_options(REDUCE_LAST).color_mode(c.BigValueColorMode(color_mode))
            .graph_mode(c.BigValueGraphMode(graph)).justify_mode(c.BigValueJustifyMode.AUTO)
            .orientation(c.VizOrientation.AUTO).text_mode(c.BigValueTextMode(text_mode)).wide_layout(True)
            .show_percent_change(False))


def bargauge(title, description, tgts, unit="percentunit", w=12, h=8, min=0, max=1, thr=None):
    return (panel(bg.Panel(), title, description, tgts, w, h, unit, min, max,
                  thr=thr or thresholds((None, "blue")), color=BY_THRESHOLDS)
            .reduce_options(REDUCE_LAST).display_mode(c.BarGaugeDisplayMode.GRADIENT)
            .orientation(c.VizOrientation.HORIZONTAL).show_unfilled(True).value_mode(c.BarGaugeValueMode.COLOR)
            .name_placement(c.BarGaugeNamePlacement.AUTO).sizing(c.BarGaugeSizing.AUTO)
            .min_viz_width(8).min_viz_height(16).max_viz_height(300))


def table(title, description, tgts, w=12, h=8, renames=None, overrides=None, exclude=("Time",), sort_by=None,
          unit="short", merge=True):
    p = panel(tb.Panel(), title, description, tgts, w, h, unit, color=BY_THRESHOLDS, overrides=overrides)
    if merge and len(tgts) > 1:
        p.with_transformation(md.DataTransformerConfig("merge", options={}))
    p.with_transformation(md.DataTransformerConfig("organize", options={
        "excludeByName": {name: True for name in exclude}, "indexByName": {}, "renameByName": renames or {}}))
    p.show_header(True).cell_height(c.TableCellHeight.SM).footer(
        cb.TableFooterOptions().show(False).reducer(["sum"]).count_rows(False).fields(""))
    if sort_by:
        p.sort_by([cb.TableSortByFieldState().display_name(sort_by[0]).desc(sort_by[1])])
    return p.align(c.FieldTextAlignment.AUTO).cell_options(c.TableAutoCellOptions()).inspect(False)


def heatmap(title, description, tgts, w=12, h=8):
    return (panel(hm.Panel(), title, description, tgts, w, h, color=PALETTE)
            .hide_from(cb.HideSeriesConfig().legend(False).tooltip(False).viz(False))
            .scale_distribution(cb.ScaleDistributionConfig().type(c.ScaleDistribution.LINEAR))
            .calculate(False).cell_gap(1)
            .color(hm.HeatmapColorOptions().mode(hmm.HeatmapColorMode.SCHEME).scheme("Oranges").fill("dark-orange")
                   .scale(hmm.HeatmapColorScale.EXPONENTIAL).exponent(0.5).steps(64).reverse(False))
            .exemplars_color("rgba(255,0,255,0.7)").filter_values(hm.FilterValueRange().le(1e-9))
            .show_legend().rows_frame(hm.RowsHeatmapOptions().layout(c.HeatmapCellLayout.AUTO))
            .mode(c.TooltipDisplayMode.SINGLE).hide_y_histogram().show_color_scale(False)
            .y_axis(hm.YAxisConfig().axis_placement(c.AxisPlacement.LEFT).reverse(False).unit("s"))
            .show_value(c.VisibilityMode.NEVER))


# --------------------------------------------------------------------------- variables


def datasource_var():
    return (db.DatasourceVariable("datasource").label("Data source").type("prometheus")
            .hide(md.VariableHide.DONT_HIDE).include_all(False).multi(False).regex(""))


def query_var(name, label, query, multi=True, include_all=True, sort=1):
    v = (db.QueryVariable(name).label(label).datasource(DS)
         .query({"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"})
         .refresh(md.VariableRefresh.ON_TIME_RANGE_CHANGED).regex("").sort(md.VariableSort(sort))
         .hide(md.VariableHide.DONT_HIDE).multi(multi).include_all(include_all).options([]))
    if include_all:
        v.all_value(".*").current(md.VariableOption(True, ["All"], ["$__all"]))
    return v


def job_var():
    return query_var("job", "Job", "label_values(progress_job_items, job_name)")


def custom_var(name, label, values, default):
    return (db.CustomVariable(name).label(label).values(",".join(values)).hide(md.VariableHide.DONT_HIDE)
            .multi(False).include_all(False).current(md.VariableOption(True, default, default))
            .options([md.VariableOption(v == default, v, v) for v in values]))


def dashboard(uid, title, description, items, variables, refresh="30s", time_from="now-6h"):
    d = (db.Dashboard(title).uid(uid).description(description).tags(TAGS).timezone("browser").editable()
         .tooltip(md.DashboardCursorSync.CROSSHAIR).fiscal_year_start_month(0).live_now(False).refresh(refresh)
         .version(1).week_start("").time(time_from, "now")
         .annotation(db.AnnotationQuery().built_in(1).datasource(md.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
                     .enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)").name("Annotations & Alerts")
                     .type("dashboard"))
         .link(db.DashboardLink("progress-exporter").type(md.DashboardLinkType.DASHBOARDS).tags(TAGS)
               .as_dropdown(True).include_vars(True).keep_time(True).icon("external link").target_blank(False)
               .tooltip("").url(""))
         .variables(variables))
    # The SDK lays panels out left to right, a new line after 24 columns and at each row (Row
    # before the panels under it, uncollapsed); checks.py fails on overlaps and overflows.
    for next_id, item in enumerate(items, start=1):
        if isinstance(item, Row):
            d.with_row(item.id(next_id))
        else:
            d.with_panel(item.id(next_id))
    model = d.build()
    model.schema_version = SCHEMA_VERSION  # the 10.4 SDK has no setter and writes 36
    return model


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
                   overrides=[by_regex(".* 80 % (low|high)$", [prop("custom.lineStyle", {"fill": "dash", "dash": [6, 4]}),
                                                               prop("custom.fillOpacity", 0),
                                                               prop("custom.lineWidth", 1)])]),
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
        timeseries("Why jobs fail", "Which errors do the failed attempts have? Failures per second by reason: the "
                                    "error normalised (numbers as N), the first --jobs.failure-reasons reasons of "
                                    "a job on their own, the rest as other. The job page and "
                                    "/api/v1/jobs/{job}/failures list the failures themselves.",
                   targets((f"job_name_reason:progress_job_failures_by_reason:rate5m{{{J}}}", "{{job_name}}: {{reason}}")),
                   w=24, h=8, axis_label="per second", min=0, stack=True, fill=40),

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
             mappings=[md.ValueMap({"0": md.ValueMappingResult(text="DOWN", index=0),
                                    "1": md.ValueMappingResult(text="UP", index=1)})]),
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
    d = json.loads(json.dumps(build(), cls=JSONEncoder))
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            v["definition"] = v["query"]["query"]  # not in the SDK's VariableModel
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"

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
