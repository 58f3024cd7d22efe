#!/usr/bin/env python3
"""Holds a real exporter to docs/openapi.yaml, the JSON API's contract.

Validates the document (openapi-spec-validator), starts the binary on 127.0.0.1 with a free port,
POSTs events that make an empty job, ids with `/`, a job with 1,200 agents, failures and
dead-lettered items, then calls every /api/v1 path and validates each real answer (status,
headers, body) against the document with openapi-core: 404s, 400s for bad parameters, every page
of the paged lists (every agent exactly once), the stream's event payloads. Last, a client
generated from the document with openapi-python-client (into a temporary folder) lists the big
job's agents page by page.

    .build-openapi/venv/bin/python scripts/check-openapi.py .build/debug/progress-exporter

Needs the packages of scripts/openapi-requirements.txt (scripts/install-deps.sh puts them in
.build-openapi/venv). Prints `openapi: N checks passed`, or each failed check and
`openapi: N checks passed, M failed` with exit status 1.
"""
import importlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import httpx
import httpx_sse
import yaml
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_document
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.yaml"
BIG_AGENTS = 1200
MAX_LIMIT, DEFAULT_LIMIT = 5000, 500

EMPTY = "empty-job"            # job_started only: no agents, no history beyond its start, no failures
SLASHED = "team/etl \"q\""     # an id with `/`, a space and quotes; its agent has `/` too
SLASHED_AGENT = "pod/7"
BIG = "big/1200"               # 1,200 agents in several states, failures and dead-lettered items
STATES = ["running", "completed", "retrying", "failed"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def segment(job):
    return urllib.parse.quote(job, safe="")


class Exporter:
    def __init__(self, binary):
        self.binary, self.port, self.process = binary, free_port(), None
        self.base = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def start(self):
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [self.binary, "serve", "--web.listen-address", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.client.get("/-/healthy", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.log.seek(0)
        raise RuntimeError("exporter did not start: " + self.log.read().decode(errors="replace")[-2000:])

    def post(self, events):
        body = "".join(json.dumps(event) + "\n" for event in events)
        answer = self.client.post("/events", content=body, headers={"Content-Type": "application/x-ndjson"})
        answer.raise_for_status()
        return answer.json()

    def stop(self):
        self.client.close()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Checks:
    def __init__(self):
        self.passed, self.failed = 0, []

    def run(self, name, function, *arguments):
        """Runs one check; an AssertionError or any other exception fails it with its message."""
        try:
            detail = function(*arguments)
        except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the run
            message = describe(error)
            self.failed.append((name, message))
            print(f"FAIL {name}: {message[:1500]}", flush=True)
            return None
        self.passed += 1
        print(f"ok   {name}", flush=True)
        return detail


def describe(error):
    """A failure in a line or a few: the schema errors of an answer that does not validate, not the whole answer."""
    if isinstance(error, AssertionError):
        return str(error)
    causes = [error] + ([error.__cause__] if error.__cause__ else [])
    for cause in causes:
        schema_errors = list(getattr(cause, "schema_errors", []) or [])
        if schema_errors:
            where = getattr(error, "where", "")
            return f"{where}the answer does not match the document: " + "; ".join(
                f"at {'/'.join(map(str, e.absolute_path)) or 'the top'}: {e.message[:200]}" for e in schema_errors)
    return f"{type(error).__name__}: {str(error)[:600]}"


def events_for_the_test():
    """The events the checks read back: an empty job, ids with `/`, a 1,200-agent job with failures."""
    events = [
        {"type": "job_started", "job": EMPTY, "total_items": 10},
        {"type": "job_started", "job": SLASHED, "total_items": 3},
        {"type": "agent_started", "job": SLASHED, "agent": SLASHED_AGENT, "item": "in/put 1", "total_steps": 4},
        {"type": "agent_progress", "job": SLASHED, "agent": SLASHED_AGENT, "step": "load", "steps_completed": 1, "total_steps": 4},
        {"type": "job_started", "job": BIG, "total_items": 5000, "deadline": time.time() + 3600},
    ]
    for n in range(BIG_AGENTS):
        agent = f"agent-{n:04d}"
        state = STATES[n % len(STATES)]
        events.append({"type": "agent_started", "job": BIG, "agent": agent, "item": f"item-{n}"})
        if n % 3 == 0:
            events.append({"type": "agent_progress", "job": BIG, "agent": agent, "progress": (n % 10) / 10})
        if state == "completed":
            events.append({"type": "item_completed", "job": BIG, "agent": agent, "item": f"item-{n}", "duration_seconds": 1.5})
            events.append({"type": "agent_state", "job": BIG, "agent": agent, "state": "completed"})
        elif state == "retrying":
            events.append({"type": "item_failed", "job": BIG, "agent": agent, "item": f"item-{n}", "error": "timeout"})
            events.append({"type": "agent_retrying", "job": BIG, "agent": agent, "attempt": 2})
        elif state == "failed":
            events.append({"type": "item_failed", "job": BIG, "agent": agent, "item": f"item-{n}", "error": "bad/input", "retryable": False})
            events.append({"type": "agent_state", "job": BIG, "agent": agent, "state": "failed"})
    for n in range(7):
        events.append({"type": "item_dead_lettered", "job": BIG, "item": f"poison/{n}", "error": "gave up"})
    return events


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-openapi.py PATH/TO/progress-exporter")
    checks = Checks()
    document = yaml.safe_load(DOCUMENT.read_text())
    checks.run("the document is valid OpenAPI 3.1 (openapi-spec-validator)", validate_document, document)
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012))

    def component(name):
        return OAS31Validator({"$ref": f"urn:openapi#/components/schemas/{name}"}, registry=registry)

    exporter = Exporter(sys.argv[1])
    exporter.start()
    # The answers come from this exporter, not from the document's example server.
    openapi = OpenAPI(SchemaPath.from_dict(dict(document, servers=[{"url": exporter.base}])))
    try:
        events = events_for_the_test()
        for start in range(0, len(events), 1000):
            exporter.post(events[start:start + 1000])
        run_checks(checks, exporter, openapi, component)
    finally:
        exporter.stop()

    if checks.failed:
        print(f"\n{len(checks.failed)} failed:")
        for name, message in checks.failed:
            print(f"  - {name}: {message[:300]}")
        print(f"openapi: {checks.passed} checks passed, {len(checks.failed)} failed")
        sys.exit(1)
    print(f"openapi: {checks.passed} checks passed")


def call(exporter, openapi, path, params=None, status=200, method="GET"):
    """GETs path (already percent-encoded) and validates the answer against the document; returns it."""
    answer = exporter.client.request(method, path, params=params)
    assert answer.status_code == status, f"{method} {path} {params or ''}: status {answer.status_code}, expected {status}: {answer.text[:120]}"
    request = MockRequest(exporter.base, method.lower(), path, args=params or {})
    content_type = answer.headers.get("content-type", "")
    response = MockResponse(answer.content, status_code=answer.status_code, headers=dict(answer.headers),
                            content_type=content_type.split(";")[0])
    try:
        openapi.validate_response(request, response)
    except Exception as error:
        error.where = f"GET {path} {params or ''} ({answer.status_code}): "
        raise
    return answer


def json_of(exporter, openapi, path, params=None, status=200):
    answer = call(exporter, openapi, path, params, status)
    assert answer.headers.get("content-type", "").startswith("application/json"), f"content type {answer.headers.get('content-type')}"
    return answer.json()


def bad_parameter(exporter, openapi, path, params, says=None):
    """The document refuses these parameters and the server answers 400 with an `error` saying why."""
    request = MockRequest(exporter.base, "get", path, args=params)
    refused = list(openapi.iter_request_errors(request)) if params.get("cursor") is None else ["cursor"]
    assert refused, f"the document accepts {params}: it should refuse them"
    body = json_of(exporter, openapi, path, params, status=400)
    if says:
        assert says in body["error"], f"error {body['error']!r} does not say {says!r}"


def walk(exporter, openapi, path, key, params, page_size):
    """Every page of a paged list; checks page sizes, `total` and that only the last page lacks `next_cursor`."""
    entries, cursor, totals, pages = [], None, set(), 0
    while pages < 100:
        query = dict(params, limit=page_size, **({"cursor": cursor} if cursor else {}))
        body = json_of(exporter, openapi, path, query)
        pages += 1
        assert len(body[key]) <= page_size, f"page of {len(body[key])} > limit {page_size}"
        entries.extend(body[key])
        totals.add(body["total"])
        cursor = body.get("next_cursor")
        if cursor is None:
            break
        assert len(body[key]) == page_size, f"a page before the last has {len(body[key])} entries, not {page_size}"
    assert len(totals) == 1 and totals == {len(entries)}, f"total {totals} but {len(entries)} entries over {pages} pages"
    return entries, pages


def run_checks(checks, exporter, openapi, component):
    agents_path = f"/api/v1/jobs/{segment(BIG)}/agents"
    failures_path = f"/api/v1/jobs/{segment(BIG)}/failures"

    # /api/v1/jobs
    def jobs():
        body = json_of(exporter, openapi, "/api/v1/jobs")
        ids = [job["job"] for job in body["jobs"]]
        assert ids == sorted([EMPTY, SLASHED, BIG], key=lambda s: s.encode()), f"jobs {ids}"
        assert body["total"] == 3 and "next_cursor" not in body
    checks.run("GET /api/v1/jobs validates; three jobs by id, total 3, no next_cursor", jobs)

    def jobs_paged():
        entries, pages = walk(exporter, openapi, "/api/v1/jobs", "jobs", {}, 1)
        assert [job["job"] for job in entries] == sorted([EMPTY, SLASHED, BIG], key=lambda s: s.encode()) and pages == 3
    checks.run("GET /api/v1/jobs?limit=1 walks 3 pages by next_cursor, each job once", jobs_paged)
    for params, says in [({"limit": MAX_LIMIT + 1}, str(MAX_LIMIT)), ({"limit": 0}, None), ({"limit": "ten"}, None),
                         ({"cursor": "not-a-cursor"}, None)]:
        checks.run(f"GET /api/v1/jobs?{urllib.parse.urlencode(params)} is a 400 that validates",
                   bad_parameter, exporter, openapi, "/api/v1/jobs", params, says)

    # /api/v1/jobs/{job}/agents
    def empty_agents():
        body = json_of(exporter, openapi, f"/api/v1/jobs/{EMPTY}/agents")
        assert body == {"job": EMPTY, "agents": [], "total": 0}, body
    checks.run("GET agents of an empty job: [] and total 0, validates", empty_agents)

    def slashed_agents():
        body = json_of(exporter, openapi, f"/api/v1/jobs/{segment(SLASHED)}/agents")
        assert body["job"] == SLASHED and [a["agent"] for a in body["agents"]] == [SLASHED_AGENT], body
        assert body["agents"][0]["item"] == "in/put 1" and body["agents"][0]["step"] == "load"
    checks.run("GET agents of a job whose id has / and quotes (percent-encoded) validates", slashed_agents)
    checks.run("GET agents of an unknown job: 404 that validates",
               lambda: json_of(exporter, openapi, "/api/v1/jobs/no%2Fsuch/agents", status=404))

    def first_page():
        body = json_of(exporter, openapi, agents_path)
        assert len(body["agents"]) == DEFAULT_LIMIT, f"{len(body['agents'])} agents without limit, expected the default {DEFAULT_LIMIT}"
        assert body["total"] == BIG_AGENTS and body.get("next_cursor"), f"total {body.get('total')}, next_cursor {body.get('next_cursor')!r}"
    checks.run(f"GET agents of the {BIG_AGENTS}-agent job: default page of {DEFAULT_LIMIT}, total, next_cursor", first_page)

    all_agents = {f"agent-{n:04d}" for n in range(BIG_AGENTS)}

    def every_agent_once(page_size, sort, expected_pages):
        entries, pages = walk(exporter, openapi, agents_path, "agents", {"sort": sort} if sort else {}, page_size)
        names = [a["agent"] for a in entries]
        assert len(names) == len(set(names)) == BIG_AGENTS and set(names) == all_agents, \
            f"{len(names)} agents, {len(set(names))} distinct, {len(all_agents - set(names))} missing"
        assert pages == expected_pages, f"{pages} pages"
        return entries

    walked = checks.run("walk the agents 500 at a time: 3 pages, every agent exactly once, by id",
                        every_agent_once, 500, None, 3)
    if walked:
        checks.run("the default order is by agent id", lambda: [a["agent"] for a in walked] == sorted(all_agents) or (_ for _ in ()).throw(AssertionError("not by id")))
    checks.run("walk the agents 5000 at a time: one page, no next_cursor", every_agent_once, MAX_LIMIT, None, 1)

    def ordered(sort, field):
        entries = every_agent_once(250, sort, 5)
        descending = sort.startswith("-")
        keyed = [a[field] for a in entries if field in a]
        assert keyed == sorted(keyed, reverse=descending), f"sort={sort} is not ordered by {field}"
        present = [field in a for a in entries]
        assert present == sorted(present, reverse=True), f"sort={sort}: agents without {field} are not last"
    for sort, field in [("-agent", "agent"), ("progress", "progress_ratio"), ("-progress", "progress_ratio"),
                        ("eta", "eta_seconds"), ("last_seen", "last_seen_timestamp"), ("-last_seen", "last_seen_timestamp")]:
        checks.run(f"walk the agents with sort={sort}: every agent once, ordered by {field}", ordered, sort, field)

    everyone = exporter.client.get(agents_path, params={"limit": MAX_LIMIT}).json().get("agents", [])

    def state_filter(states):
        entries, _ = walk(exporter, openapi, agents_path, "agents", {"state": states}, 100)
        wanted = set(states.split(","))
        expected = sorted(a["agent"] for a in everyone if a["state"] in wanted)
        assert expected, f"no agent in {states}: the test's events should make some"
        assert all(a["state"] in wanted for a in entries), "an agent of another state"
        assert sorted(a["agent"] for a in entries) == expected, f"{len(entries)} agents, expected {len(expected)}"
    checks.run("state=running: exactly the running agents, paged", state_filter, "running")
    checks.run("state=completed,failed: exactly the agents in either state, paged", state_filter, "completed,failed")
    for params, says in [({"limit": MAX_LIMIT + 1}, str(MAX_LIMIT)), ({"limit": -1}, None), ({"state": "sleeping"}, None),
                         ({"state": "running,"}, None), ({"sort": "speed"}, None), ({"sort": "--agent"}, None),
                         ({"cursor": "bm90IGEgY3Vyc29y"}, None)]:
        checks.run(f"GET agents?{urllib.parse.urlencode(params)} is a 400 that validates",
                   bad_parameter, exporter, openapi, agents_path, params, says)

    def cursor_of_other_parameters():
        cursor = exporter.client.get(agents_path, params={"limit": 10}).json().get("next_cursor")
        assert cursor, "no next_cursor to reuse"
        bad_parameter(exporter, openapi, agents_path, {"limit": 10, "sort": "-agent", "cursor": cursor})
    checks.run("a cursor made for sort=agent is a 400 with sort=-agent", cursor_of_other_parameters)

    # /api/v1/jobs/{job}/history
    for job in [EMPTY, SLASHED, BIG]:
        checks.run(f"GET history of {job!r} validates",
                   lambda job=job: json_of(exporter, openapi, f"/api/v1/jobs/{segment(job)}/history")["job"] == job or (_ for _ in ()).throw(AssertionError("job")))
    checks.run("GET history of an unknown job: 404 that validates",
               lambda: json_of(exporter, openapi, "/api/v1/jobs/nope/history", status=404))

    # /api/v1/jobs/{job}/failures
    failed_agents = [f"agent-{n:04d}" for n in range(BIG_AGENTS) if STATES[n % len(STATES)] in ("retrying", "failed")]

    def failures():
        failed, dead, cursor, pages, first = [], [], None, 0, None
        while pages < 100:
            body = json_of(exporter, openapi, failures_path, dict(limit=30, **({"cursor": cursor} if cursor else {})))
            first = first or body
            pages += 1
            assert len(body["failures"]) <= 30 and len(body["dead_lettered"]) <= 30, "a page over its limit"
            failed.extend(body["failures"])
            dead.extend(body["dead_lettered"])
            cursor = body.get("next_cursor")
            if cursor is None:
                break
        kept = min(100, len(failed_agents))
        assert len(failed) == kept and len(dead) == 7, f"{len(failed)} failed attempts (kept {kept}), {len(dead)} dead-lettered"
        assert len({(e["agent"], e["item"]) for e in failed}) == kept, "a failed attempt twice"
        assert first["failed_total"] == len(failed_agents) and first["dead_lettered_total"] == 7, "totals"
        for entries in (failed, dead):
            times = [e["timestamp"] for e in entries]
            assert times == sorted(times, reverse=True), "not newest first"
        for e in failed:
            said = STATES[int(e["agent"][-4:]) % 4] == "failed"
            assert e.get("retryable") is (False if said else None), f"retryable of {e['agent']} is not as the event said"
        assert {r["reason"] for r in first["reasons"]} == {"timeout", "bad/input"}, f"reasons {first['reasons']}"
    checks.run("walk the failures 30 at a time: the kept failed attempts and every dead-lettered item once, newest first, with totals and reasons, validates", failures)
    checks.run("failures of an empty job: empty lists and zero totals, validates",
               lambda: json_of(exporter, openapi, f"/api/v1/jobs/{EMPTY}/failures") == {"job": EMPTY, "failures": [], "dead_lettered": [], "reasons": [], "failed_total": 0, "dead_lettered_total": 0} or (_ for _ in ()).throw(AssertionError("not empty")))
    checks.run("failures of an unknown job: 404 that validates",
               lambda: json_of(exporter, openapi, "/api/v1/jobs/no%2Fsuch/failures", status=404))
    for params, says in [({"limit": 501}, "500"), ({"limit": 0}, None), ({"cursor": "x"}, None)]:
        checks.run(f"GET failures?{urllib.parse.urlencode(params)} is a 400 that validates",
                   bad_parameter, exporter, openapi, failures_path, params, says)

    # /api/v1/alerts
    def alerts():
        body = json_of(exporter, openapi, "/api/v1/alerts")
        assert body["total"] == len(body["alerts"]) and "next_cursor" not in body, body
    checks.run("GET /api/v1/alerts validates, with total", alerts)
    for params, says in [({"limit": MAX_LIMIT + 1}, str(MAX_LIMIT)), ({"cursor": "x"}, None)]:
        checks.run(f"GET /api/v1/alerts?{urllib.parse.urlencode(params)} is a 400 that validates",
                   bad_parameter, exporter, openapi, "/api/v1/alerts", params, says)

    # /api/v1/stream
    def stream():
        seen = {}
        with httpx_sse.connect_sse(exporter.client, "GET", "/api/v1/stream", params={"job": SLASHED},
                                   timeout=httpx.Timeout(10)) as source:
            response = source.response
            assert response.status_code == 200, response.status_code
            media_types = openapi.spec["paths"]["/api/v1/stream"]["get"]["responses"]["200"]["content"].keys()
            content_type = response.headers.get("content-type", "").split(";")[0]
            assert content_type in media_types, f"content type {content_type!r}, the document says {list(media_types)}"
            deadline = time.monotonic() + 10
            for event in source.iter_sse():
                seen.setdefault(event.event, json.loads(event.data))
                if {"hello", "jobs", "agents"} <= seen.keys() or time.monotonic() > deadline:
                    break
        assert {"hello", "jobs", "agents"} <= seen.keys(), f"events seen: {sorted(seen)}"
        schemas = {"hello": "StreamHello", "jobs": "StreamJobs", "agents": "StreamAgents", "alerts": "StreamAlerts"}
        for name, payload in seen.items():
            component(schemas[name]).validate(payload)
        assert seen["hello"]["reset"] is True and seen["hello"]["job"] == SLASHED
        assert seen["agents"]["job"] == SLASHED and seen["agents"]["agents"][0]["agent"] == SLASHED_AGENT
    checks.run("GET /api/v1/stream?job=...: text/event-stream; hello, jobs and agents payloads validate", stream)

    # Outside the document: unknown paths and wrong methods, as its description says.
    def not_routes():
        answer = exporter.client.get("/api/v1/nothing")
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/plain")
        answer = exporter.client.post("/api/v1/jobs")
        assert answer.status_code == 405 and "GET" in answer.headers.get("allow", "")
    checks.run("an unknown /api/v1 path is 404 and POST /api/v1/jobs 405 with Allow", not_routes)

    checks.run("a client generated from the document lists the big job's agents page by page",
               generated_client_lists_agents, exporter)


def generated_client_lists_agents(exporter):
    """openapi-python-client generates a package into a temporary folder; its listAgents walks the pages."""
    # Through this interpreter, not the venv's launcher script: its first line names the venv's path at
    # creation, which a moved or copied venv no longer has.
    generator = [sys.executable, "-c", "import sys; from openapi_python_client.cli import app; sys.argv[0] = 'openapi-python-client'; app()"]
    with tempfile.TemporaryDirectory() as folder:
        config = pathlib.Path(folder, "config.yaml")
        config.write_text("project_name_override: exporter-client\npackage_name_override: exporter_client\npost_hooks: []\n")
        output = pathlib.Path(folder, "client")
        result = subprocess.run([*generator, "generate", "--path", str(DOCUMENT), "--output-path", str(output),
                                 "--config", str(config), "--meta", "none"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"generator failed: {result.stdout[-1500:]} {result.stderr[-1500:]}"
        assert "Warning" not in result.stdout and "Warning" not in result.stderr, f"generator warned: {result.stdout[-1500:]}{result.stderr[-1500:]}"
        sys.path.insert(0, folder)
        os.rename(output, pathlib.Path(folder, "exporter_client"))
        try:
            client_module = importlib.import_module("exporter_client")
            list_agents = importlib.import_module("exporter_client.api.jobs.list_agents")
            client = client_module.Client(base_url=exporter.base, raise_on_unexpected_status=True)
            names, cursor, pages = [], None, 0
            with client:
                while pages < 10:
                    page = list_agents.sync(job=BIG, client=client, limit=400, **({"cursor": cursor} if cursor else {}))
                    assert page is not None and not isinstance(page, client_module.models.Error), f"answer {page}"
                    names.extend(agent.agent for agent in page.agents)
                    pages += 1
                    cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
                    if cursor is None:
                        break
            assert pages == 3 and len(names) == len(set(names)) == BIG_AGENTS, f"{pages} pages, {len(names)} agents, {len(set(names))} distinct"
        finally:
            sys.path.remove(folder)


if __name__ == "__main__":
    main()
