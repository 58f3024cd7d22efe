"""Finds the metric names and label matchers a PromQL expression refers to.

A small lexer, not a full parser: enough to list every series selector in the expressions
of our dashboards and rules, so that scripts/check-monitoring-files.sh can compare them
with the exporter's real /metrics output. Grafana variables ($job, ${job}, $__range) are
accepted wherever they appear.

    selectors(expr) -> [Selector(name, matchers)], matchers = [(label, op, value)]
    parse_exposition(text) -> Exposition (names, types and label names/values per sample name)
"""

import re
from dataclasses import dataclass, field

FUNCTIONS = {
    # https://prometheus.io/docs/prometheus/latest/querying/functions/ (2.x and 3.x)
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
    "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
    "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor", "histogram_avg",
    "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev", "histogram_stdvar",
    "histogram_sum", "holt_winters", "double_exponential_smoothing", "hour", "idelta", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time",
    "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad",
    "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sort_by_label",
    "sort_by_label_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time",
    "timestamp", "vector", "year", "start", "end",
}
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio",
}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+|\[\[\w+\]\])
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@:])
""", re.VERBOSE)


@dataclass
class Selector:
    name: str  # metric name; "" for a selector like {__name__=~"..."} without an exact name
    matchers: list = field(default_factory=list)  # (label, op, value)


class PromQLError(ValueError):
    pass


def tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise PromQLError(f"cannot read {expr[pos:pos + 20]!r} in {expr!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        out.append((kind, m.group()))
    return out


def unquote(s):
    if s[0] == "`":
        return s[1:-1]
    body = s[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def selectors(expr):
    """Every series selector in expr, in order. Raises PromQLError on unknown functions."""
    toks = tokens(expr)
    out, i, bracket = [], 0, 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if text == "[":
            bracket += 1
        elif text == "]":
            bracket -= 1
        elif bracket:
            pass  # range or subquery durations
        elif kind == "ident" and text in GROUPING:
            if nxt[1] == "(":  # skip the label list
                j = i + 2
                while j < len(toks) and toks[j][1] != ")":
                    j += 1
                i = j
        elif kind == "ident" and text == "offset":
            i += 1  # the duration (or a leading minus sign handled as op)
            if i < len(toks) and toks[i][1] == "-":
                i += 1
        elif kind == "ident" and text in KEYWORDS:
            pass
        elif kind == "ident" and text in AGGREGATIONS and nxt[1] in ("by", "without"):
            pass  # sum by (job_name) (...): the grouping is skipped next
        elif kind == "ident" and nxt[1] == "(":
            if text not in FUNCTIONS and text not in AGGREGATIONS:
                raise PromQLError(f"unknown function {text!r} in {expr!r}")
        elif kind == "ident" or text == "{":
            name = text if kind == "ident" else ""
            matchers = []
            j = i + 1 if kind == "ident" else i
            if j < len(toks) and toks[j][1] == "{":
                j += 1
                while j < len(toks) and toks[j][1] != "}":
                    if toks[j][1] == ",":
                        j += 1
                        continue
                    if j + 2 >= len(toks) or toks[j][0] not in ("ident", "string") or toks[j + 1][0] != "op" \
                            or toks[j + 2][0] != "string":
                        raise PromQLError(f"cannot read label matchers in {expr!r}")
                    label = toks[j][1] if toks[j][0] == "ident" else unquote(toks[j][1])
                    matchers.append((label, toks[j + 1][1], unquote(toks[j + 2][1])))
                    j += 3
                i = j  # at "}"
            if not name:
                names = [v for (l, op, v) in matchers if l == "__name__" and op == "="]
                name = names[0] if names else ""
            out.append(Selector(name, matchers))
        i += 1
    return out


LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", re.S)
QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)


def variable_query_selectors(query):
    """Selectors of a Grafana Prometheus variable query, and the label it reads (or None)."""
    m = LABEL_VALUES.match(query)
    if m:
        return selectors(m.group(1)), m.group(2)
    m = QUERY_RESULT.match(query)
    if m:
        return selectors(m.group(1)), None
    return [], None  # label_values(label), label_names(), metrics(...): no series named


# --------------------------------------------------------------------------- exposition files

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?\s*$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
SUFFIXES = {
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("_sum", "_count", "_created"),
    "counter": ("_total", "_created"),
}


@dataclass
class Exposition:
    types: dict = field(default_factory=dict)       # family name -> type
    samples: dict = field(default_factory=dict)     # sample name -> {label: set(values)}

    def names(self):
        """Every name a query may use: sample names, family names and their typed suffixes."""
        known = set(self.samples) | set(self.types)
        for family, typ in self.types.items():
            for suffix in SUFFIXES.get(typ, ()):
                known.add(family + suffix)
        return known

    def has(self, name):
        known = self.names()
        if name in known:
            return True
        # a histogram or summary base name matches its _bucket/_sum/_count samples
        return any(name + s in known for s in ("_bucket", "_sum", "_count"))

    def labels_of(self, name):
        """Label name -> values seen on the samples of name (None when it has no samples)."""
        if name in self.samples:
            return self.samples[name]
        return None


def parse_exposition(text):
    exp = Exposition()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE", "UNIT"):
                exp.types.setdefault(parts[2], "untyped")
                if parts[1] == "TYPE" and len(parts) == 4:
                    exp.types[parts[2]] = parts[3].strip()
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {lineno}: not a sample: {line[:80]!r}")
        labels = exp.samples.setdefault(m.group(1), {})
        body = m.group(3) or ""
        pos = 0
        while pos < len(body):
            lm = LABEL.match(body, pos)
            if not lm:
                raise ValueError(f"line {lineno}: cannot read labels: {body[:80]!r}")
            labels.setdefault(lm.group(1), set()).add(re.sub(r"\\(.)", lambda x: {"n": "\n"}.get(x.group(1), x.group(1)), lm.group(2)))
            pos = lm.end()
    return exp
