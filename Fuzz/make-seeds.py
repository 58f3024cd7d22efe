#!/usr/bin/env python3
"""Writes the committed seed corpus (Fuzz/corpus/<target>/) and is kept so the seeds can be
re-made or extended: the fixtures' lines and hand-written edge cases."""
import json, os, pathlib, struct

root = pathlib.Path(__file__).resolve().parent
repo = root.parent
fixture = (repo / "Tests/EventsTests/Fixtures/prodigy-mapreduce-events.jsonl").read_bytes()

def write(target, name, data):
    d = root / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())

# --- native ---------------------------------------------------------------------------------
J = "etl"
readme = [
    {"type": "job_started", "job": J, "total_items": 1200, "ts": "2026-11-25T06:00:00Z"},
    {"type": "agent_started", "job": J, "agent": "w7", "item": "p42", "total_steps": 4},
    {"type": "agent_progress", "job": J, "agent": "w7", "step": "transform", "steps_completed": 2, "total_steps": 4},
    {"type": "agent_heartbeat", "job": J, "agent": "w7"},
    {"type": "item_completed", "job": J, "agent": "w7", "item": "p42", "duration_seconds": 41.5},
    {"type": "item_failed", "job": J, "agent": "w3", "item": "p7", "error": "timeout", "retryable": True},
    {"type": "agent_retrying", "job": J, "agent": "w3", "attempt": 2},
    {"type": "item_dead_lettered", "job": J, "item": "p9", "error": "bad input"},
    {"type": "job_items_added", "job": J, "count": 50},
    {"type": "agent_state", "job": J, "agent": "w3", "state": "merging"},
    {"type": "agent_progress", "job": J, "agent": "w3", "progress": 0.5, "deadline": 1800000600},
    {"type": "job_completed", "job": J, "id": "e-1"},
    {"type": "job_failed", "job": "other", "error": "x"},
    {"type": "job_cancelled", "job": "third"},
]
nd = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in readme)
write("native", "readme-ndjson", nd)
write("native", "readme-array", json.dumps(readme))
for i, e in enumerate(readme):
    write("native", f"line-{i:02d}-{e['type']}", json.dumps(e))

edge = {
    "deep-array-64": '{"type":"job_started","job":"j","x":' + "[" * 64 + "]" * 64 + "}",
    "deep-array-65": '{"type":"job_started","job":"j","x":' + "[" * 65 + "]" * 65 + "}",
    "deep-object": '{"type":"job_started","job":"j","x":' + '{"a":' * 70 + "1" + "}" * 70 + "}",
    "huge-numbers": '{"type":"job_started","job":"j","total_items":1e400,"ts":1e308}\n'
                    '{"type":"job_items_added","job":"j","count":18446744073709551616}\n'
                    '{"type":"agent_progress","job":"j","agent":"a","steps_completed":-0,"total_steps":1.0,"progress":1e-400}',
    "near-int64-max": '{"type":"job_started","job":"j","total_items":9223372036854775807}\n'
                      '{"type":"job_items_added","job":"j","count":9223372036854775807}\n'
                      '{"type":"job_items_added","job":"j","count":9223372036854775806}\n'
                      '{"type":"agent_started","job":"j","agent":"a","total_steps":9223372036854775807}\n'
                      '{"type":"agent_progress","job":"j","agent":"a","steps_completed":9223372036854775807,"total_steps":1}\n'
                      '{"type":"agent_retrying","job":"j","agent":"a","attempt":9223372036854775807}\n'
                      '{"type":"item_completed","job":"j","agent":"a","duration_seconds":1.7976931348623157e308}',
    "negative": '{"type":"job_started","job":"j","total_items":-1}\n{"type":"item_completed","job":"j","agent":"a","duration_seconds":-1}',
    "nulls": '{"type":"job_started","job":"j","total_items":null,"ts":null,"deadline":null}',
    "rfc3339": "\n".join(
        '{"type":"agent_heartbeat","job":"j","agent":"a","ts":"%s"}' % t for t in [
            "1970-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:60.999999999+23:59",
            "2024-02-29T12:00:00-00:00", "2023-02-29T12:00:00Z", "2026-11-25t06:00:00z", "2026-11-25 06:00:00Z",
            "2026-13-01T00:00:00Z", "2026-11-25T06:00:00.1234567890Z", "2026-11-25T06:00:00+99:99", "2026-11-25T24:00:00Z"]),
    "unix-ts": '{"type":"agent_heartbeat","job":"j","agent":"a","ts":1800000000.123456789}\n'
               '{"type":"agent_heartbeat","job":"j","agent":"a","ts":0}\n{"type":"agent_heartbeat","job":"j","agent":"a","ts":-1}',
    "bad-utf8": b'{"type":"job_started","job":"\xff\xfe\xc0\x80"}\n{"type":"job_started","job":"\xed\xa0\x80"}',
    "nul-bytes": b'{"type":"job_started","job":"a\x00b"}\n{"type":"job_started","job":"a\\u0000b"}\n\x00\x00\n{"type":"job_st\x00arted","job":"j"}',
    "escapes": '{"type":"job_started","job":"\\ud83d\\ude00\\n\\"\\\\"}\n{"type":"job_started","job":"\\ud800"}',
    "array-broken": '[{"type":"job_started","job":"j"},{"type":"job_started","job":',
    "array-nested": '[[{"type":"job_started","job":"j"}],1,"x",null,{}]',
    "crlf-blank": '\r\n\r\n{"type":"job_started","job":"j"}\r\n   \n\t\n{"type":"job_completed","job":"j"}',
    "duplicate-keys": '{"type":"job_started","type":"job_failed","job":"j","job":"k"}',
    "wrong-types": '{"type":1,"job":"j"}\n{"type":"job_started","job":[]}\n{"type":"agent_state","job":"j","agent":"a","state":"nope"}',
    "dedup-ids": '{"type":"job_items_added","job":"j","count":1,"id":"x"}\n' * 3,
}
for name, data in edge.items():
    write("native", name, data)

# --- prodigy --------------------------------------------------------------------------------
write("prodigy", "mapreduce-fixture", fixture)
for i, line in enumerate(fixture.splitlines()[:40]):
    write("prodigy", f"line-{i:02d}", line)
write("prodigy", "deep", '{"timestamp":"2025-09-15T14:02:11Z","event":{"event_type":"agent_started","agent_id":"a","x":' + "[" * 70 + "]" * 70 + "}}")
write("prodigy", "kinds", "\n".join(
    '{"timestamp":"2025-09-15T14:02:11Z","event":{"event_type":"%s","agent_id":"a","item_id":"i","progress_pct":%s,"duration":{"secs":%s,"nanos":%s},"attempt":9223372036854775807}}'
    % (k, p, s, n) for k, p, s, n in [
        ("agent_completed", "150", "18446744073709551615", "999999999"), ("agent_failed", "-5", "1", "4294967296"),
        ("agent_progress", "1e400", "0", "0"), ("d_l_q_item_added", "NaN", "1", "1"), ("dlq_item_added", "50", "-1", "-1"),
        ("job_paused", "0", "0", "0"), ("job_resumed", "0", "0", "0"), ("claude_message", "0", "0", "0"),
        ("agent_retrying", "0", "1e20", "1.5")]))
write("prodigy", "bad-utf8-nul", b'{"timestamp":"2025-09-15T14:02:11Z","event":{"event_type":"agent_started","agent_id":"\xff\x00"}}')

# --- snapshot -------------------------------------------------------------------------------
# Real snapshots (real-snapshot-*) come from the native seeds, written by the native target:
#   FUZZ_SNAPSHOT_OUT=DIR .build-fuzz/release/fuzz-native Fuzz/corpus/native/*
# (a few of them, copied by hand); these hand-made headers test the first checks.
write("snapshot", "empty-v1", struct.pack("<IQ", 1, 0) + b"\x00" * 64)
write("snapshot", "wrong-version", struct.pack("<IQ", 2, 0))
write("snapshot", "huge-count", struct.pack("<IQQ", 1, 0, 0xFFFFFFFFFFFFFFFF))
