#!/usr/bin/env python3
"""Records real workloads run on this machine as item-duration traces for `progress-bench etc`.

Each trace keeps only the durations of its items, in the order they ran (one per line, in
seconds), never their content or names. Usage: record_traces.py OUT_DIR [gzip|pycompile|tests]...

- gzip: compresses every file under /usr/share in walk order (zlib level 6, in memory),
  the first 4,000 files: heavy-tailed sizes, phases of many tiny files.
- pycompile: byte-compiles every .py file of the Python standard library in walk order
  (a real project's files built one by one).
- tests: the per-test durations of this project's unit tests (`swift test --skip-build`),
  read from Swift Testing's "passed after N seconds" lines, in the order they finished.
"""
import os
import re
import subprocess
import sys
import time
import zlib
import py_compile
import tempfile


def walk(root):
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield path


def gzip_trace(limit=4000):
    durations = []
    for path in walk("/usr/share"):
        if len(durations) >= limit:
            break
        start = time.perf_counter()
        try:
            with open(path, "rb") as f:
                zlib.compress(f.read(), 6)
        except OSError:
            continue
        durations.append(time.perf_counter() - start)
    return "compressing the first 4,000 files of /usr/share in walk order (zlib level 6), one worker", 1, durations


def pycompile_trace():
    durations = []
    root = os.path.dirname(os.__file__)
    with tempfile.TemporaryDirectory() as out:
        for i, path in enumerate(p for p in walk(root) if p.endswith(".py")):
            start = time.perf_counter()
            try:
                py_compile.compile(path, cfile=os.path.join(out, f"{i}.pyc"), doraise=True)
            except (py_compile.PyCompileError, OSError, SyntaxError, ValueError):
                pass
            durations.append(time.perf_counter() - start)
    return "byte-compiling every .py file of the Python standard library in walk order, one worker", 1, durations


def tests_trace():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = subprocess.run(["swift", "test", "--skip-build", "--filter", "TrackingTests|ExpositionTests|AlertingTests"],
                         cwd=repo, capture_output=True, text=True)
    pattern = re.compile(r"passed after ([0-9.]+) seconds")
    durations = [float(m.group(1)) for line in run.stdout.splitlines()
                 if line.lstrip().startswith(("✔", "􁁛")) and "Test " in line and "Suite" not in line
                 for m in [pattern.search(line)] if m]
    return "this project's unit tests (Tracking, Exposition, Alerting), per-test durations as Swift Testing reports them, two workers", 2, durations


def main():
    out = sys.argv[1]
    kinds = sys.argv[2:] or ["gzip", "pycompile", "tests"]
    recorders = {"gzip": gzip_trace, "pycompile": pycompile_trace, "tests": tests_trace}
    for kind in kinds:
        summary, agents, durations = recorders[kind]()
        with open(os.path.join(out, f"{kind}.txt"), "w") as f:
            f.write(f"# {summary}\n# recorded {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores; {len(durations)} items\n")
            f.write(f"# agents: {agents}\n")
            for d in durations:
                f.write(f"{d:.6f}\n")
        print(kind, len(durations), f"{sum(durations):.1f} s")


if __name__ == "__main__":
    main()
