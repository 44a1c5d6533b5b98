import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, out: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ, PYTHONPATH=str(EXAMPLES.parent), **(env or {}))
    return subprocess.run([sys.executable, str(EXAMPLES / name), "--out", str(out), *args],
                          capture_output=True, text=True, env=e, timeout=120)


@pytest.mark.parametrize("name", ["lease_run.py", "peft_roundtrip.py", "telemetry_write_pull.py"])
def test_example_on_mock_is_deterministic_and_bounded(name: str, tmp_path: Path) -> None:
    reports = []
    for i in range(2):
        out = tmp_path / str(i)
        r = run_example(name, out, "--mock")
        assert r.returncode == 0, r.stderr
        reports.append((out / "report.json").read_text())
        total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        assert total < 1 << 20  # bounded artifacts
    assert reports[0] == reports[1]
    assert "error" not in json.loads(reports[0])
