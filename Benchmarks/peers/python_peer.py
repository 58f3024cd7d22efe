#!/usr/bin/env python3
"""Serves the exporter's series from python prometheus_client, as a Python exporter would.

  python_peer.py BODY_FILE PORT

Reads the exporter's text exposition with prometheus_client's own parser and rebuilds every
family as instrumented metrics (Gauge, Counter, Histogram) in a fresh registry (no process or
platform collectors, no `_created` series), then serves it with start_http_server on 127.0.0.1.
Prints "ready <series>" once serving.
"""
import os
import sys
import threading

os.environ["PROMETHEUS_DISABLE_CREATED_SERIES"] = "True"

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def label_names(family) -> list:
    if not family.samples:
        # A labelled family without children exposes HELP and TYPE only, as the exporter does.
        return ["job_name"]
    names = []
    for sample in family.samples:
        for name in sample.labels:
            if name != "le" and name not in names:
                names.append(name)
    return names


def child(metric, names, labels):
    return metric.labels(*[labels.get(n, "") for n in names]) if names else metric


def rebuild(body: str, registry: CollectorRegistry) -> int:
    series = 0
    for family in text_string_to_metric_families(body):
        names = label_names(family)
        if family.type == "counter":
            metric = Counter(family.name, family.documentation, names, registry=registry)
            for sample in family.samples:
                child(metric, names, sample.labels).inc(sample.value)
                series += 1
        elif family.type == "histogram":
            bounds = sorted({float(s.labels["le"]) for s in family.samples if s.name.endswith("_bucket")})
            metric = Histogram(family.name, family.documentation, names, registry=registry, buckets=bounds)
            groups = {}
            for sample in family.samples:
                key = tuple(sample.labels.get(n, "") for n in names)
                groups.setdefault(key, []).append(sample)
            for key, samples in groups.items():
                target = metric.labels(*key) if names else metric
                cumulative = {float(s.labels["le"]): s.value for s in samples if s.name.endswith("_bucket")}
                previous = 0.0
                # The public API only observes; set the per-bucket counts directly to keep the values.
                for i, bound in enumerate(bounds):
                    target._buckets[i].set(cumulative.get(bound, previous) - previous)
                    previous = cumulative.get(bound, previous)
                for s in samples:
                    if s.name.endswith("_sum"):
                        target._sum.set(s.value)
                series += len(samples)
        else:
            if family.type not in ("gauge", "unknown", "info"):
                sys.exit(f"python_peer: family {family.name} of type {family.type} is not handled")
            metric = Gauge(family.name, family.documentation, names, registry=registry)
            for sample in family.samples:
                child(metric, names, sample.labels).set(sample.value)
                series += 1
    return series


def main() -> None:
    body_file, port = sys.argv[1], int(sys.argv[2])
    with open(body_file) as f:
        body = f.read()
    registry = CollectorRegistry(auto_describe=False)
    series = rebuild(body, registry)
    start_http_server(port, addr="127.0.0.1", registry=registry)
    print(f"ready {series}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
