#!/usr/bin/env python3
"""Writes the man page (mdoc) from the command's own description of its flags, the JSON that
`progress-exporter --experimental-dump-help` prints (the same definitions --help shows):

    progress-exporter --experimental-dump-help | python3 scripts/manual-from-help.py --date 2026-12-06 > docs/progress-exporter.1

scripts/generate-manual.sh runs it. Unlike swift-argument-parser's generate-manual plugin, it lists
each flag once: the exporter's options (which `serve` and the command without a subcommand take)
under OPTIONS, each subcommand's own flags under its entry in COMMANDS, and a subcommand that takes
some of the exporter's option groups names them instead of listing them again. The synopsis is
short, so `man` breaks every line (MANWIDTH=80 man -l docs/progress-exporter.1 warns of nothing),
and EXAMPLES shows the common uses."""
import datetime
import json
import re
import sys

EXAMPLES = [
    ("Try it: the built-in demo, then open http://localhost:9465/ (jobs, progress, ETC) and /metrics.",
     ["progress-exporter --demo"]),
    ("Follow the event files a tracker writes, and keep the state across restarts.",
     ["progress-exporter --events.file '/var/log/jobs/*.jsonl' \\",
      "    --storage.path /var/lib/progress-exporter"]),
    ("Send events over HTTP, one JSON object a line.",
     ["curl --data-binary @events.jsonl http://localhost:9465/events"]),
    ("Alert rules and receivers from a file; check it first.",
     ["progress-exporter check-config alerts.yml",
      "progress-exporter --config.file alerts.yml --web.enable-lifecycle"]),
    ("Watch the jobs in a terminal, or print one line per job for a script.",
     ["progress-exporter top",
      "progress-exporter top --once --url http://exporter:9465"]),
    ("Replay a recorded log as fast as possible and print each job's summary as JSON.",
     ["progress-exporter replay --output json events-2026-12-06.jsonl.gz"]),
    ("Export a job's agents as CSV from a running exporter.",
     ["progress-exporter export --url http://localhost:9465 \\",
      "    --job etl-nightly-run1 --agents --format csv > agents.csv"]),
    ("A picture of the page for a report (the page drawn once, without its stream).",
     ["chromium --headless --virtual-time-budget=8000 \\",
      "    --screenshot=jobs.png 'http://localhost:9465/?live=0'"]),
]


def text(line):
    """A line of running text: backslashes escaped, no line starting with a control character."""
    line = line.replace("\\", "\\e")
    return "\\&" + line if line.startswith((".", "'")) else line


def paragraphs(block):
    out = []
    for paragraph in re.split(r"\n\s*\n", block.strip()):
        if out:
            out.append(".Pp")
        out.append(text(" ".join(paragraph.split())))
    return out


def value_name(argument):
    """The flag value's name: the last word of the flag's name when the value is named after it
    (`--web.max-body-bytes bytes`), else the value name as given."""
    name = argument.get("valueName", "value")
    long = argument.get("preferredName", {}).get("name", "")
    return re.split(r"[.-]", name)[-1] if name == long else name


def item(argument):
    names = argument.get("names", [])
    parts = []
    for n in sorted(names, key=lambda n: n["kind"] != "short"):
        parts.append(("Fl " if n["kind"] == "short" else "Fl -") + n["name"])
    line = ".It " + " , ".join(parts)
    if argument["kind"] == "option":
        line += " Ar " + value_name(argument)
        if argument.get("isRepeating"):
            line += " Ar ..."
    elif argument["kind"] == "positional":
        line = ".It Ar " + argument.get("valueName", "argument") + (" ..." if argument.get("isRepeating") else "")
    about = argument.get("abstract", "")
    default = argument.get("defaultValue")
    if default not in (None, "", "false") and "default" not in about and argument["kind"] == "option":
        about = about + (" " if about else "") + f"(default: {default})"
    values = argument.get("allValues")
    if values and not all(re.search(r"\b" + re.escape(v) + r"\b", about) for v in values):
        about += f" Values: {', '.join(values)}."
    return [line] + ([text(about)] if about else [])


def shown(arguments):
    return [a for a in arguments if a.get("shouldDisplay", True)]


def tag_list(arguments):
    out = [".Bl -tag -width 6n"]
    for argument in arguments:
        out += item(argument)
    return out + [".El"]


def sections(arguments):
    """(title, arguments) in the order first seen; untitled ones last, under ""."""
    order, groups = [], {}
    for argument in arguments:
        title = argument.get("sectionTitle", "")
        if title not in groups:
            order.append(title)
            groups[title] = []
        groups[title].append(argument)
    order.sort(key=lambda t: t == "")
    return [(t, groups[t]) for t in order]


def flag_names(argument):
    return {n["name"] for n in argument.get("names", [])}


def main():
    date = datetime.date.today()
    if "--date" in sys.argv:
        date = datetime.date.fromisoformat(sys.argv[sys.argv.index("--date") + 1])
    root = json.load(sys.stdin)["command"]
    name = root["commandName"]
    out = [
        '.\\" Generated by scripts/manual-from-help.py from progress-exporter --experimental-dump-help; do not edit.',
        f".Dd {date.strftime('%B')} {date.day}, {date.year}",
        f".Dt {name.upper()} 1",
        ".Os",
        ".Sh NAME",
        f".Nm {name}",
        ".Nd " + text(root.get("abstract", "").rstrip(".")),
        ".Sh SYNOPSIS",
        ".Nm", ".Op Cm serve", ".Op Ar options",
    ]
    subcommands = [c for c in root.get("subcommands", []) if c.get("shouldDisplay", True) and c["commandName"] != "help"]
    for command in subcommands:
        if command["commandName"] == "serve":
            continue
        out += [".Nm", f".Cm {command['commandName']}", ".Op Ar options"]
        for a in shown(command.get("arguments", [])):
            if a["kind"] == "positional":
                words = f"Ar {a.get('valueName', 'argument')}" + (" ..." if a.get("isRepeating") else "")
                out.append((".Op " if a.get("isOptional") else ".") + words)
    out += [".Sh DESCRIPTION"] + paragraphs(root.get("abstract", "") + "\n\n" + root.get("discussion", ""))
    out += [".Pp", "The exporter's options follow; each subcommand's own options are under", ".Sx COMMANDS ."]

    root_arguments = shown(root.get("arguments", []))
    exporter_flags = set()
    out.append(".Sh OPTIONS")
    for title, arguments in sections(root_arguments):
        out.append(f".Ss {text(title or 'General options')}")
        out += tag_list(arguments)
        if title:
            exporter_flags |= {n for a in arguments for n in flag_names(a)}

    out += [".Sh COMMANDS", ".Bl -tag -width 6n"]
    for command in subcommands:
        out.append(f".It Cm {command['commandName']}")
        out += paragraphs(command.get("abstract", ""))
        if command.get("discussion"):
            out += [".Pp"] + paragraphs(command["discussion"])
        arguments = shown(command.get("arguments", []))
        if command["commandName"] == "serve":
            out += [".Pp", "Takes the options under", ".Sx OPTIONS ."]
            continue
        own = [a for a in arguments if not (flag_names(a) & exporter_flags) and not (flag_names(a) & {"help", "h", "version"})]
        shared = []
        for title, group in sections(arguments):
            if title and any(flag_names(a) & exporter_flags for a in group):
                shared.append(title)
        if own:
            out += tag_list(own)
        if shared:
            out += [".Pp", "It also takes these groups of the exporter's options, listed under",
                    ".Sx OPTIONS :", text(", ".join(shared) + ".")]
    out.append(".El")

    out.append(".Sh EXAMPLES")
    for i, (what, lines) in enumerate(EXAMPLES):
        if i:
            out.append(".Pp")
        out += [text(what), ".Bd -literal -offset indent"] + [text(line) for line in lines] + [".Ed"]
    out += [
        ".Sh EXIT STATUS",
        "0 on success; 1 when the exporter cannot start or a subcommand fails (its reason on standard error);",
        "64 for a flag or argument it refuses (the reason and the usage on standard error).",
        ".Sh SEE ALSO",
        "The documentation in the source repository's",
        ".Pa docs/",
        "folder: events.md (what a tracker sends), operating.md (flags, logging, limits, security),",
        "watching.md (the live page and",
        ".Cm top ) ,",
        "alerts.md, metrics.md, api.md and troubleshooting.md.",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
