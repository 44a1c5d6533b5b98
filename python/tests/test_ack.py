from cohesix.ack import parse_ack
from cohesix.errors import HiveError
from cohesix.render import cat_summary


def test_fields_keep_spaces_in_values():
    a = parse_ack("ERR CAT reason=policy detail=invalid-path path=/proc/x error=invalid path")
    assert a is not None and not a.ok and a.verb == "CAT"
    assert a.fields() == {"reason": "policy", "detail": "invalid-path", "path": "/proc/x", "error": "invalid path"}
    a = parse_ack("ERR PARSE reason=policy detail=missing required argument: path")
    assert a.fields()["detail"] == "missing required argument: path"


def test_data_runs_to_end_of_line():
    a = parse_ack("OK CAT path=/proc/schedule/summary data=queue=1 dequeued=0 dropped=0")
    assert a.fields()["data"] == "queue=1 dequeued=0 dropped=0"


def test_not_acks():
    for l in ["END", "PONG", "OKAY X", "OK", "ok PING", "ERR "]:
        assert parse_ack(l) is None


def test_hive_error_carries_reason_words():
    e = HiveError("ERR ECHO reason=quota detail=buffer-full path=/queen/ctl error=buffer full")
    assert (e.verb, e.reason, e.detail, e.path, e.error) == ("ECHO", "quota", "buffer-full", "/queen/ctl", "buffer full")


def test_cat_summary_matches_the_hive():
    # From a real transcript (console_verbs.coh): user lines preferred in the queen log.
    lines = ["[event] boot", "regression-marker", "user-lines-only-in-the-summary-whatever-the-transport-field"]
    assert cat_summary("/log/queen.log", lines) == "regression-marker|user-lines-only-in-the-summary-whatever-the-transport-field"
    boot = ["Cohesix boot: root-task online", "manifest.schema=1.5", "manifest.profile=dev",
            "manifest.sha256=" + "f" * 64, "telemetry.ring_bytes_per_worker=1024",
            "telemetry.frame_schema=legacy-plaintext", "event_pump.tick_ms=5"]
    assert cat_summary("/proc/boot", boot) == "telemetry.ring_bytes_per_worker=1024|telemetry.frame_schema=legacy-plaintext|event_pump.tick_ms=5"


def test_every_limit_comes_from_the_manifest_json():
    import json
    from cohesix import limits
    p = limits.manifest_path()
    assert p is not None
    doc = json.loads(p.read_text())
    for name, keys in limits._MAP.items():
        assert limits._dig(doc, keys) is not None, f"{name}: {'.'.join(keys)} is not in {p}"
    assert limits.load().source == str(p)
