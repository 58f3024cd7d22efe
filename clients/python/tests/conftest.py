from __future__ import annotations

import os
from pathlib import Path

import pytest

from exporter import Exporter


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--exporter", default=os.environ.get("PROGRESS_EXPORTER"),
                     help="path of the progress-exporter binary (default: $PROGRESS_EXPORTER)")


@pytest.fixture(scope="session")
def exporter_binary(request: pytest.FixtureRequest) -> str:
    path = request.config.getoption("--exporter")
    if not path:
        pytest.fail("give the progress-exporter binary: --exporter PATH or PROGRESS_EXPORTER=PATH")
    if not os.access(path, os.X_OK):
        pytest.fail(f"not an executable: {path}")
    return path


@pytest.fixture
def start_exporter(exporter_binary: str, tmp_path: Path):
    """Starts a real exporter with the given flags; every one started is stopped after the test."""
    started: list[Exporter] = []

    def start(*flags: str) -> Exporter:
        exporter = Exporter(exporter_binary, tmp_path, list(flags))
        started.append(exporter)
        exporter.start()
        return exporter

    yield start
    for exporter in started:
        exporter.stop()
