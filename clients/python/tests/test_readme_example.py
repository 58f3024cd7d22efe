"""The example a newcomer copies (README.md and docs/python-client.md) runs as written."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def python_example(document: Path) -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", document.read_text(encoding="utf-8"), re.M | re.S)
    (example,) = [block for block in blocks if "with Tracker(" in block]
    return example


def test_the_readme_example_runs(start_exporter):
    example = python_example(ROOT / "README.md")
    assert example == python_example(ROOT / "docs" / "python-client.md")
    assert example.count("http://localhost:9465") == 1
    exporter = start_exporter()
    processed: list[str] = []
    exec(example.replace("http://localhost:9465", exporter.url),
         {"parts": ["part-1", "part-2", "part-3"], "process": processed.append})
    assert processed == ["part-1", "part-2", "part-3"]
    job = exporter.job("etl-2026-11-25")
    assert (job["status"], job["planned"], job["completed"]) == ("completed", 3, 3)
