#!/usr/bin/env python3
"""Checks the links of the repository's Markdown documentation.

    python3 scripts/check-doc-links.py

Every relative link in README.md, CHANGELOG.md, docs/*.md, Alerts/README.md and Dashboards/README.md must
name a file in the repository (and, for a Markdown file, a heading that exists); no link may
point outside the repository, since a clone has nothing there. Web links are not fetched.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "Alerts" / "README.md",
         ROOT / "Dashboards" / "README.md"]


def anchors(path):
    """GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces to -."""
    out = set()
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M):
        out.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return out


def main():
    problems, count = [], 0
    for doc in FILES:
        if not doc.exists():
            problems.append(f"{doc.relative_to(ROOT)}: missing")
            continue
        text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.S | re.M)
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            count += 1
            if re.match(r"^[a-z][a-z0-9+.-]*:", link):
                continue  # http(s), mailto: not checked
            where = f"{doc.relative_to(ROOT)}: ({link})"
            target, _, anchor = link.partition("#")
            dest = (doc.parent / target).resolve() if target else doc
            if dest != ROOT and ROOT not in dest.parents:
                problems.append(f"{where} points outside the repository")
            elif not dest.exists():
                problems.append(f"{where}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    for p in problems:
        print(f"FAIL  {p}")
    print(f"doc links: {count} checked, {len(problems)} bad")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
