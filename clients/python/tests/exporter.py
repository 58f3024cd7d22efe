"""The real progress-exporter binary, started on 127.0.0.1 for a test and always stopped."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

START_SECONDS = 30.0  # a debug build restoring a snapshot and its journal is ready well within this
STOP_SECONDS = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


class Exporter:
    """One exporter process on a fixed free port, so a restart keeps its URL."""

    def __init__(self, binary: str, folder: Path, flags: list[str]) -> None:
        self.binary = binary
        self.folder = folder
        self.flags = flags
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = folder / f"exporter-{self.port}.log"

    def start(self) -> None:
        assert self.process is None, "already running"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "--web.listen-address", f"127.0.0.1:{self.port}", *self.flags],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                raise RuntimeError(f"the exporter exited with {status}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the exporter was not ready within {START_SECONDS} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stops it with `sig` (SIGKILL for a crash); SIGKILL if it does not end in time."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # in case a test froze it
            process.send_signal(sig)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_SECONDS)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel but never answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def job(self, name: str) -> dict:
        """The job as GET /api/v1/jobs shows it."""
        jobs = {job["job"]: job for job in get_json(f"{self.url}/api/v1/jobs")["jobs"]}
        assert name in jobs, f"no job {name!r} in {sorted(jobs)}"
        return jobs[name]

    def agents(self, job: str) -> dict:
        quoted = urllib.parse.quote(job, safe="")
        return {agent["agent"]: agent
                for agent in get_json(f"{self.url}/api/v1/jobs/{quoted}/agents")["agents"]}
