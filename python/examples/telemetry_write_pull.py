#!/usr/bin/env python3
"""Edge telemetry write, then pull: records pushed into a new segment of a
device, pulled back with a resumable cursor into <out>/py/<device>/<seg>,
and, when the `coh` binary is found (--coh or PATH) and the hive is live,
pulled again with `coh telemetry pull` into <out>/coh/ and compared byte
for byte. Artifacts: segment copies, cursor.json, report.json.

  python3 python/examples/telemetry_write_pull.py --mock
  COHESIX_TCP_ADDR=127.0.0.1:31337 python3 python/examples/telemetry_write_pull.py \\
      --coh bin/coh --ninep 127.0.0.1:5640
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from _common import backend, parser

import cohesix
from cohesix import telemetry
from cohesix.artifacts import write_bytes, write_report


def main() -> int:
    ap = parser("telemetry_write_pull.py", __doc__ or "")
    ap.add_argument("--device", default="edge-1")
    ap.add_argument("--records", type=int, default=8)
    ap.add_argument("--coh", default="", help="coh binary for the `coh telemetry pull` comparison")
    ap.add_argument("--ninep", default="", help="the hive's Secure9P host:port for coh")
    args = ap.parse_args()
    out = Path(args.out)
    b = backend(args)
    report: dict[str, object] = {"backend": b.name, "device": args.device}
    try:
        recs = [f'{{"seq":{i},"temp_c":{20 + i % 5}}}' for i in range(args.records)]
        pushed = telemetry.push(b, args.device, recs)
        report["pushed"] = {"segments": pushed.segments, "records": pushed.records, "bytes": pushed.bytes}
        cur = telemetry.Cursor.load(out / "cursor.json")
        pulled = telemetry.pull(b, cur, device=args.device)
        files = {}
        for p in pulled:
            dst = out / "py" / p.device / "seg" / p.seg_id  # coh telemetry pull's layout
            old = dst.read_bytes() if dst.exists() else b""
            write_bytes(dst, old[: p.offset] + p.data)
            files[f"{p.device}/seg/{p.seg_id}"] = dst.stat().st_size
        report["pulled"] = files
        # The hive stores cohsh-telemetry-push/v1 envelopes; unwrapped they are the records pushed.
        got = b"".join(telemetry.unwrap((out / "py" / k).read_bytes()) for k in files)
        report["records_round_trip"] = got.endswith("".join(r + "\n" for r in recs).encode())
        if not report["records_round_trip"]:
            print("telemetry_write_pull: pulled records differ from those pushed", file=sys.stderr)
            return 1
        coh = args.coh or shutil.which("coh") or ""
        if coh and args.ninep and not args.mock:
            host, port = args.ninep.rsplit(":", 1)
            r = subprocess.run([coh, "--host", host, "--9p-port", port, "telemetry", "pull",
                                "--out", str(out / "coh"), "--json", "--progress=false"],
                               capture_output=True, text=True, timeout=60)
            same = all((out / "coh" / k).is_file() and (out / "coh" / k).read_bytes() == (out / "py" / k).read_bytes()
                       for k in files)
            report["coh_pull"] = {"exit": r.returncode, "identical": same}
            if r.returncode != 0 or not same:
                print(f"telemetry_write_pull: coh pull differs: {r.stderr.strip()}", file=sys.stderr)
                return 1
        else:
            report["coh_pull"] = "skipped: needs --coh (or coh on PATH), --ninep and a live hive"
    except cohesix.CohesixError as e:
        report["error"] = str(e)
        print(f"telemetry_write_pull: {e}", file=sys.stderr)
        return 1
    finally:
        write_report(out / "report.json", report)
        b.close()
    print(f"telemetry_write_pull: OK segments={pushed.segments} report={out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
