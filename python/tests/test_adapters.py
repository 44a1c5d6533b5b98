import json

from cohesix import adapters


def none(_: str) -> None:
    return None


def have(_: str) -> str:
    return "/usr/bin/tool"


def test_absent_tools_are_skipped_never_failed():
    assert adapters.systemd(["x.service"], which=none)[0].status == "skipped"
    assert adapters.systemd(["x.service"], which=have, booted=lambda: False)[0].status == "skipped"
    assert adapters.docker(which=none)[0].status == "skipped"
    assert adapters.k8s(which=none)[0].status == "skipped"
    assert adapters.nvml("libdoes-not-exist.so")[0].status == "skipped"
    assert all(r.status == "skipped" for r in adapters.peft(("surely_not_a_package_xyz",)))


def test_present_but_failing_tool_is_degraded():
    fail = lambda argv: (1, "", "Cannot connect to the Docker daemon\nmore")
    r = adapters.docker(run=fail, which=have)
    assert (r[0].status, r[0].reason) == ("degraded", "Cannot connect to the Docker daemon")
    assert adapters.k8s(run=lambda a: (0, "not json", ""), which=have)[0].status == "degraded"


def test_parsed_inventories_render_sorted_ndjson():
    ps = '{"ID":"abcdef0123456789","Names":"web","Image":"nginx","State":"running"}\n' \
         '{"ID":"0123456789ab","Names":"db","Image":"pg","State":"exited"}\n'
    recs = adapters.docker(run=lambda a: (0, ps, ""), which=have)
    lines = [r.ndjson() for r in recs]
    assert [json.loads(l)["data"]["name"] for l in lines] == ["db", "web"]
    assert lines[1] == '{"adapter":"docker","data":{"id":"abcdef012345","image":"nginx","name":"web","state":"running"},"status":"ok"}'
    pods = json.dumps({"items": [{"metadata": {"namespace": "b", "name": "p2"}, "status": {"phase": "Pending"}},
                                 {"metadata": {"namespace": "a", "name": "p1"}, "status": {"phase": "Running"}}]})
    assert [r.data["phase"] for r in adapters.k8s(run=lambda a: (0, pods, ""), which=have)] == ["Running", "Pending"]
    sd = adapters.systemd(["hive-gateway.service"], run=lambda a: (0, "LoadState=loaded\nActiveState=active\nSubState=running\n", ""), which=have,
                            booted=lambda: True)
    assert sd[0].data == {"unit": "hive-gateway.service", "load": "loaded", "active": "active", "sub": "running"}


def test_probe_all_on_this_host_never_raises():
    for r in adapters.probe_all():
        assert r.status in ("ok", "degraded", "skipped")
        json.loads(r.ndjson())
