import subprocess
import sys
from pathlib import Path

import pytest

import cohesix
from cohesix import control, playbook_cli, playbooks

IDS = [p.id for p in playbooks.PLAYBOOKS]


def test_nine_playbooks_three_per_fleet():
    assert len(IDS) == 9 == len(set(IDS))
    assert {f: sum(p.fleet == f for p in playbooks.PLAYBOOKS) for f in ("mac", "jetson", "mixed")} == \
        {"mac": 3, "jetson": 3, "mixed": 3}
    assert "mixed-closed-loop-ai-factory" in IDS and "jetson-traffic-safety" in IDS


class Counting(cohesix.MockBackend):
    def __init__(self) -> None:
        super().__init__()
        self.echoes = 0

    def echo(self, path: str, line: str) -> cohesix.Reply:
        self.echoes += 1
        return super().echo(path, line)


@pytest.mark.parametrize("pid", IDS)
def test_dry_run_writes_zero_lines_and_live_writes_only_canonical_files(pid):
    b = Counting()
    c = cohesix.Client(b, dry_run=True)
    playbooks.get(pid).run(c, playbooks.DEFAULT_POLICY_SHA256)
    assert b.echoes == 0 and b.writes == [] and c.written == []
    assert c.planned and all(p.path in control.CANONICAL_FILES for p in c.planned)
    # The same plan applied to the mock: every line accepted, exactly the plan.
    live = cohesix.Client(cohesix.MockBackend())
    playbooks.get(pid).run(live, playbooks.DEFAULT_POLICY_SHA256)
    assert [(p.path, p.line) for p in live.written] == [(p.path, p.line) for p in c.planned]
    assert len(live.written) <= 16  # bounded whatever the fleet size


def test_cli_list_and_dry_run(capsys, tmp_path):
    assert playbook_cli.main(["--list"]) == 0
    assert [l.split("\t")[0] for l in capsys.readouterr().out.splitlines()] == IDS
    rep = tmp_path / "r.json"
    assert playbook_cli.main(["--playbook", "jetson-traffic-safety", "--dry-run", "--mock", "--report", str(rep)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("would write /queen/lease/ctl {\"op\":\"quota\"")
    assert '"control_writes": 0' in out[-1] and '"mode": "dry-run"' in out[-1]
    assert playbook_cli.main(["--playbook", "nope", "--dry-run", "--mock"]) == 2


def test_module_entry_point_runs():
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "cohesix.playbook_cli", "--playbook", "mixed-closed-loop-ai-factory",
                        "--dry-run", "--mock"], capture_output=True, text=True, cwd=root)
    assert r.returncode == 0 and "control_writes\": 0" in r.stdout
