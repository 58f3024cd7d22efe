#!/usr/bin/python3
"""Parses an exposition on stdin with prometheus_client's parser for FORMAT (text or openmetrics).

Exits 1 with the reason when the parser raises, or when it reads what the writer did not mean:
a sample outside its declared family (the parser turns it into an untyped/unknown family), a family
declared twice, or a different number of families than `# TYPE` lines. Otherwise prints the
families as JSON: [{"name", "type", "unit", "help", "samples": [{"name", "labels", "value"}]}],
values as Python's repr of the float ("inf", "nan", "1.5").

Uses Debian's python3-prometheus-client; run with /usr/bin/python3.
"""
import json
import sys


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("text", "openmetrics"):
        sys.exit("usage: check-exposition.py text|openmetrics < exposition")
    if sys.argv[1] == "text":
        from prometheus_client.parser import text_string_to_metric_families
    else:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    exposition = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(exposition))
    except Exception as error:  # the parsers raise ValueError, and others on malformed input
        sys.exit(f"{sys.argv[1]} parser: {type(error).__name__}: {error}")
    problems = []
    for family in families:
        if family.type in ("untyped", "unknown"):
            problems.append(f"samples outside a declared family: {family.name}")
    declared = [line.split(" ")[2] for line in exposition.splitlines() if line.startswith("# TYPE ")]
    for name in sorted({n for n in declared if declared.count(n) > 1}):
        problems.append(f"family declared more than once: {name}")
    if len(declared) != len(families):
        problems.append(f"{len(declared)} # TYPE lines but {len(families)} families")
    if problems:
        sys.exit("\n".join(problems))
    json.dump([{
        "name": family.name,
        "type": family.type,
        "unit": family.unit,
        "help": family.documentation,
        "samples": [{"name": s.name, "labels": s.labels, "value": repr(float(s.value))} for s in family.samples],
    } for family in families], sys.stdout)


main()
