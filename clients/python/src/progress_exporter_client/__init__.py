"""A client for progress-exporter: report a job runner's jobs, items and agents.

    from progress_exporter_client import Tracker

    with Tracker("http://localhost:9465") as tracker:
        job = tracker.job("etl-2026-11-25", total_items=len(parts))
        for part in job.track(parts, agent="worker-7"):
            process(part)
        job.complete()

See docs/python-client.md in the progress-exporter repository for the whole API.
"""
from ._job import Item, Job
from ._tracker import Stats, Tracker

__all__ = ["Tracker", "Job", "Item", "Stats"]
__version__ = "0.1.0"
