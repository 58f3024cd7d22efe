#!/usr/bin/env python3
"""Checks that every flag in the man page is documented.

    python3 scripts/check-manual-flags.py [MAN_PAGE]

The man page (docs/progress-exporter.1 unless another is named) is generated from the flag
definitions by scripts/generate-manual.sh, so it lists every flag of every subcommand. Each long
flag must appear in README.md or in a Markdown file under docs/, as a whole word: `--jobs` is not
found inside `--jobs.retention`. A flag that appears nowhere fails the check, named with its
subcommand. Reading no flags at all fails too, so a change of the man page's format cannot make
the check pass by finding nothing.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MACRO = re.compile(r"^[A-Z][a-z]$")  # mdoc macro names: Ar, Op, Fl, Ns, ...


def manual_flags(text):
    """(flag, subcommand) pairs in the order the man page lists them.

    mdoc: `.It Fl -config.file Ar file` is `--config.file` (Fl adds one dash), `Fl h , Fl -help`
    is `-h, --help`; `.It Cm NAME` (or `Em`) opens a subcommand's entry. man(7): `\\-\\-name` in any line."""
    found, command = [], "progress-exporter"
    for line in text.splitlines():
        entry = re.match(r"^\.It (?:Em|Cm) (\S+)", line)
        if entry:
            command = entry.group(1)
            continue
        tokens = line.split() if line.startswith(".") else []
        for i, token in enumerate(tokens):
            if token != "Fl":
                continue
            for arg in tokens[i + 1:]:
                if MACRO.match(arg):
                    break
                if arg.startswith("-"):
                    found.append(("-" + arg, command))
        found += [("--" + name, command) for name in re.findall(r"\\-\\-([A-Za-z][\w.-]*)", line)]
    return found


def main():
    manual = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "progress-exporter.1"
    flags = manual_flags(manual.read_text(encoding="utf-8"))
    documents = {doc.relative_to(ROOT): doc.read_text(encoding="utf-8") for doc in DOCS}
    problems, seen = [], set()
    if not flags:
        problems.append(f"{manual}: no flags found (has the man page's format changed?)")
    for flag, command in flags:
        if flag in seen:
            continue
        seen.add(flag)
        whole = re.compile(r"(?<![\w-])" + re.escape(flag) + r"(?![\w.-])")
        if not any(whole.search(text) for text in documents.values()):
            problems.append(f"{flag} ({command}) is in the man page but in no document (README.md, docs/*.md)")
    for p in problems:
        print(f"FAIL  {p}")
    print(f"manual flags: {len(seen)} checked against {len(documents)} documents, {len(problems)} missing")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
