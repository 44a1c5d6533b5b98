#!/usr/bin/env python3
"""PEFT/LoRA round trip: device telemetry pushed, a LoRA export job
requested through the device's ingest ctl ({"export":"lora-job",...}),
the job's three files exported (telemetry.cbor, base_model.ref,
policy.toml), the bundle's sha256 checked against policy.toml, and an
adapter staged in <out>/registry/<model>/ with lora.json, metrics.json and
provenance.toml naming those hashes, as `coh peft import` expects. (The
adapter is a deterministic stand-in: training is out of scope.)

The console carries lines, not bytes: the hosted hive streams a bundle's
raw CBOR over `cat`, and a bundle line over line_max_bytes is refused by
the tcp backend as a ProtocolError. With --coh and --ninep the export
step runs `coh peft export` (Secure9P, byte-exact) instead.

  python3 python/examples/peft_roundtrip.py --mock
  COHESIX_TCP_ADDR=127.0.0.1:31337 python3 python/examples/peft_roundtrip.py \\
      --coh bin/coh --ninep 127.0.0.1:5640
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from _common import backend, parser

import cohesix
from cohesix import telemetry
from cohesix.artifacts import write_bytes, write_report
from cohesix.frame import payload_bytes

EXPORT_ROOT = "/queen/export/lora_jobs"  # client_policies.coh.peft.export.root


def file_bytes(lines: list[str]) -> bytes:
    """A file read over the console: b64: lines are binary; otherwise the
    lines' exact bytes (the hosted hive streams binary raw, split at
    newline bytes), newline-joined."""
    if lines and all(l.startswith("b64:") for l in lines):
        return base64.b64decode("".join(l[4:] for l in lines))
    return b"\n".join(payload_bytes(l) for l in lines)


def main() -> int:
    ap = parser("peft_roundtrip.py", __doc__ or "")
    ap.add_argument("--device", default="peft-dev")
    ap.add_argument("--job", default="job-1")
    ap.add_argument("--model", default="adapter-1")
    ap.add_argument("--base-model", default="base-llm-7b")
    ap.add_argument("--coh", default="", help="coh binary: export over Secure9P with `coh peft export`")
    ap.add_argument("--ninep", default="", help="the hive's Secure9P host:port for coh")
    args = ap.parse_args()
    out = Path(args.out)
    b = backend(args)
    report: dict[str, object] = {"backend": b.name, "job": args.job}
    try:
        telemetry.push(b, args.device, [f'{{"step":{i},"loss":{1.0 / (i + 1):.4f}}}' for i in range(4)])
        ctl = f"/queen/telemetry/{args.device}/ctl"
        req = json.dumps({"export": "lora-job", "job": args.job, "base_model": args.base_model}, separators=(",", ":"))
        report["export_request"] = b.echo(ctl, req).check().ack
        files: dict[str, bytes] = {}
        names = ("telemetry.cbor", "base_model.ref", "policy.toml")
        coh = args.coh or shutil.which("coh") or ""
        if coh and args.ninep and not args.mock:
            host, port = args.ninep.rsplit(":", 1)
            r = subprocess.run([coh, "--host", host, "--9p-port", port, "peft", "export", "--job", args.job,
                                "--out", str(out / "export")], capture_output=True, text=True, timeout=60)
            report["export_via"] = "coh peft export"
            if r.returncode != 0:
                raise cohesix.CohesixError(f"coh peft export: {r.stdout.strip()} {r.stderr.strip()}")
            for name in names:
                files[name] = (out / "export" / args.job / name).read_bytes()
        else:
            report["export_via"] = f"{b.name} backend cat"
            for name in names:
                files[name] = file_bytes(b.cat(f"{EXPORT_ROOT}/{args.job}/{name}").check().lines)
                write_bytes(out / "export" / args.job / name, files[name])
        sha = hashlib.sha256(files["telemetry.cbor"]).hexdigest()
        m = re.search(r'telemetry_sha256 = "([0-9a-f]{64})"', files["policy.toml"].decode())
        report["telemetry_sha256"] = sha
        report["policy_sha256_matches"] = bool(m and m.group(1) == sha)
        if not report["policy_sha256_matches"]:
            print("peft_roundtrip: policy.toml's telemetry_sha256 does not match the bundle", file=sys.stderr)
            return 1
        adapter = hashlib.sha256(f"{args.model}:{sha}".encode()).digest() * 8  # stand-in weights
        reg = out / "registry" / args.model
        write_bytes(reg / "adapter.safetensors", adapter)
        write_bytes(reg / "lora.json", json.dumps({"model": args.model, "rank": 8, "alpha": 16,
                                                   "base_model": files["base_model.ref"].decode().strip()}, sort_keys=True).encode())
        write_bytes(reg / "metrics.json", json.dumps({"final_loss": 0.25, "steps": 4}, sort_keys=True).encode())
        write_bytes(reg / "provenance.toml", (
            f'job = "{args.job}"\ntelemetry_sha256 = "{sha}"\n'
            f'adapter_sha256 = "{hashlib.sha256(adapter).hexdigest()}"\n').encode())
        report["staged"] = sorted(p.name for p in reg.iterdir())
    except cohesix.CohesixError as e:
        report["error"] = str(e)
        print(f"peft_roundtrip: {e}", file=sys.stderr)
        return 1
    finally:
        write_report(out / "report.json", report)
        b.close()
    print(f"peft_roundtrip: OK job={args.job} model={args.model} report={out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
