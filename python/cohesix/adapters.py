"""Host adapters: systemd unit state, docker inventory, k8s pod phases,
NVML GPUs and PEFT/LoRA package probes, each rendered as NDJSON records
for telemetry shipping (push them with cohesix.telemetry.push).

An adapter never fails the caller: a missing tool or library gives
status "skipped" (with the reason), a tool that is present but errors
gives "degraded" (with its words). Records are deterministic for a given
host state: sorted keys, no timestamps.

  python3 -m cohesix.adapters [--units hive-gateway.service,...]"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

OK, DEGRADED, SKIPPED = "ok", "degraded", "skipped"
TOOL_TIMEOUT_S = 10  # a host tool that hangs degrades its adapter, never the caller

Runner = Callable[[list[str]], "tuple[int, str, str]"]
Which = Callable[[str], "str | None"]


def _run(argv: list[str]) -> tuple[int, str, str]:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {TOOL_TIMEOUT_S}s"
    except OSError as e:
        return 127, "", str(e)
    return p.returncode, p.stdout, p.stderr


@dataclass
class Record:
    adapter: str
    status: str
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def ndjson(self) -> str:
        d: dict[str, Any] = {"adapter": self.adapter, "status": self.status}
        if self.reason:
            d["reason"] = self.reason
        if self.data:
            d["data"] = self.data
        return json.dumps(d, sort_keys=True, separators=(",", ":"))


def _first_line(s: str) -> str:
    s = s.strip()
    return s.splitlines()[0][:200] if s else ""


def _systemd_booted() -> bool:
    # sd_booted(3): systemd is the init system when this directory exists.
    return os.path.isdir("/run/systemd/system")


def systemd(units: list[str], run: Runner = _run, which: Which = shutil.which,
            booted: Callable[[], bool] = _systemd_booted) -> list[Record]:
    if not which("systemctl"):
        return [Record("systemd", SKIPPED, "systemctl not found")]
    if not booted():
        return [Record("systemd", SKIPPED, "systemd is not the init system on this host")]
    out = []
    for u in units:
        rc, so, se = run(["systemctl", "show", u, "--property=LoadState,ActiveState,SubState"])
        if rc != 0:
            out.append(Record("systemd", DEGRADED, _first_line(se) or f"systemctl exit {rc}", {"unit": u}))
            continue
        props = dict(l.split("=", 1) for l in so.splitlines() if "=" in l)
        out.append(Record("systemd", OK, data={"unit": u, "load": props.get("LoadState", ""),
                                                "active": props.get("ActiveState", ""), "sub": props.get("SubState", "")}))
    return out or [Record("systemd", SKIPPED, "no units asked for")]


def docker(run: Runner = _run, which: Which = shutil.which) -> list[Record]:
    if not which("docker"):
        return [Record("docker", SKIPPED, "docker not found")]
    rc, so, se = run(["docker", "ps", "--all", "--no-trunc", "--format", "{{json .}}"])
    if rc != 0:
        return [Record("docker", DEGRADED, _first_line(se) or f"docker exit {rc}")]
    out = []
    for l in so.splitlines():
        try:
            c = json.loads(l)
        except ValueError:
            return [Record("docker", DEGRADED, "docker ps printed a line that is not JSON")]
        out.append(Record("docker", OK, data={"id": str(c.get("ID", ""))[:12], "name": c.get("Names", ""),
                                               "image": c.get("Image", ""), "state": c.get("State", "")}))
    return sorted(out, key=lambda r: str(r.data.get("name"))) or [Record("docker", OK, data={"containers": 0})]


def k8s(run: Runner = _run, which: Which = shutil.which) -> list[Record]:
    if not which("kubectl"):
        return [Record("k8s", SKIPPED, "kubectl not found")]
    rc, so, se = run(["kubectl", "get", "pods", "--all-namespaces", "-o", "json"])
    if rc != 0:
        return [Record("k8s", DEGRADED, _first_line(se) or f"kubectl exit {rc}")]
    try:
        items = json.loads(so).get("items", [])
    except (ValueError, AttributeError):
        return [Record("k8s", DEGRADED, "kubectl printed something that is not a pod list")]
    out = []
    for p in items:
        meta, status = p.get("metadata", {}), p.get("status", {})
        out.append(Record("k8s", OK, data={"namespace": meta.get("namespace", ""), "pod": meta.get("name", ""),
                                            "phase": status.get("phase", "")}))
    out.sort(key=lambda r: (str(r.data["namespace"]), str(r.data["pod"])))
    return out or [Record("k8s", OK, data={"pods": 0})]


class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


def nvml(lib: str = "libnvidia-ml.so.1") -> list[Record]:
    """GPUs through NVML itself (ctypes), no Python binding needed."""
    try:
        n = ctypes.CDLL(lib)
    except OSError as e:
        return [Record("nvml", SKIPPED, f"{lib} not loadable: {e}")]
    try:
        if n.nvmlInit_v2() != 0:
            return [Record("nvml", DEGRADED, "nvmlInit_v2 failed")]
        try:
            count = ctypes.c_uint(0)
            if n.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
                return [Record("nvml", DEGRADED, "nvmlDeviceGetCount_v2 failed")]
            out = []
            for i in range(count.value):
                h = ctypes.c_void_p()
                if n.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(h)) != 0:
                    out.append(Record("nvml", DEGRADED, f"no handle for GPU {i}", {"index": i}))
                    continue
                name = ctypes.create_string_buffer(96)
                n.nvmlDeviceGetName(h, name, 96)
                mem = _NvmlMemory()
                n.nvmlDeviceGetMemoryInfo(h, ctypes.byref(mem))
                out.append(Record("nvml", OK, data={"index": i, "name": name.value.decode(errors="replace"),
                                                     "mem_total_mb": mem.total // (1 << 20)}))
            return out or [Record("nvml", OK, data={"gpus": 0})]
        finally:
            n.nvmlShutdown()
    except AttributeError as e:
        return [Record("nvml", DEGRADED, f"NVML symbol missing: {e}")]


PEFT_PACKAGES = ("peft", "transformers", "torch", "safetensors", "accelerate")


def peft(packages: tuple[str, ...] = PEFT_PACKAGES) -> list[Record]:
    out = []
    for p in packages:
        if importlib.util.find_spec(p) is None:
            out.append(Record("peft", SKIPPED, f"python package {p} not installed", {"package": p}))
            continue
        try:
            v = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            v = ""
        out.append(Record("peft", OK, data={"package": p, "version": v}))
    return out


def probe_all(units: list[str] | None = None) -> list[Record]:
    return systemd(units or ["hive-gateway.service"]) + docker() + k8s() + nvml() + peft()


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m cohesix.adapters")
    ap.add_argument("--units", default="hive-gateway.service", help="comma-separated systemd units")
    a = ap.parse_args(argv)
    for r in probe_all([u for u in a.units.split(",") if u]):
        sys.stdout.write(r.ndjson() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
