"""The nine fleet playbooks of roadmap 25c, three per fleet type. A
playbook is a fixed, bounded sequence of typed control requests (schedule,
lease, export, approval, spawn) for one use case; it only ever writes the
canonical control files, through Client.submit, so a dry run (Client
with dry_run=True) writes nothing and shows every line it would write.

Fleet size is a parameter of the plan, not a loop over every device: a
playbook addresses cohorts (e.g. "mac-builders"), and the hive's
scheduler fans out; that keeps live writes bounded whatever the fleet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .client import Client

# A stand-in sha256 of the policy a playbook applies (the operator supplies
# the real one with --policy-sha256).
DEFAULT_POLICY_SHA256 = "0" * 64


@dataclass(frozen=True)
class Playbook:
    id: str
    fleet: str  # mac, jetson, mixed
    title: str
    run: Callable[[Client, str], None]  # (client, policy sha256)


def _release_factory(c: Client, sha: str) -> None:
    c.schedule("build-arm64", "worker-heartbeat", 3, 40, 600000)
    c.schedule("build-x86", "worker-heartbeat", 3, 40, 600000)
    c.schedule("sign-notarize", "worker-heartbeat", 2, 10, 120000)
    c.export_open("release-artifacts", 3600)
    c.approve("release-gate", "/queen/ctl")


def _private_peft_grid(c: Client, sha: str) -> None:
    c.lease_quota("mac-peft", "gpu-mps", 1, 1)
    c.lease_grant("peft-grid-1", "mac-peft", "gpu-mps", 1800, 2)
    c.schedule("peft-train", "worker-gpu", 2, 100, 1800000)
    c.export_open("lora-adapters", 7200)
    c.approve("peft-activate", "/queen/ctl")


def _endpoint_compliance(c: Client, sha: str) -> None:
    c.policy_apply("compliance-baseline", sha)
    c.schedule("compliance-scan", "worker-heartbeat", 1, 5, 60000)
    c.export_open("compliance-evidence", 900)
    c.approve("remediate", "/queen/ctl")


def _traffic_safety(c: Client, sha: str) -> None:
    c.lease_quota("jetson-edge", "gpu-orin", 1, 2)
    c.lease_grant("intersection-vision", "jetson-edge", "gpu-orin", 3600, 3)
    c.schedule("vision-infer", "worker-gpu", 3, 1000, 3600000)
    c.schedule("incident-upload", "worker-heartbeat", 2, 60, 60000)
    c.export_open("incident-clips", 600)


def _manufacturing_qa(c: Client, sha: str) -> None:
    c.lease_grant("line-qa", "jetson-line", "gpu-orin", 28800, 3)
    c.schedule("defect-detect", "worker-gpu", 3, 500, 28800000)
    c.schedule("safety-zone", "worker-gpu", 3, 500, 28800000)
    c.policy_apply("qa-thresholds", sha)
    c.export_open("qa-records", 28800)


def _critical_infra(c: Client, sha: str) -> None:
    c.policy_apply("infra-sensing", sha)
    c.lease_quota("jetson-substation", "gpu-orin", 1, 1)
    c.lease_grant("grid-anomaly", "jetson-substation", "gpu-orin", 86400, 3)
    c.schedule("anomaly-detect", "worker-gpu", 3, 100, 86400000)
    c.approve("isolate-feeder", "/queen/lifecycle/ctl")


def _closed_loop_ai_factory(c: Client, sha: str) -> None:
    c.lease_grant("train-pool", "mac-trainers", "gpu-mps", 7200, 2)
    c.lease_grant("deploy-pool", "jetson-fleet", "gpu-orin", 7200, 2)
    c.schedule("collect", "worker-heartbeat", 1, 60, 60000)
    c.schedule("retrain", "worker-gpu", 2, 100, 3600000)
    c.schedule("redeploy", "worker-heartbeat", 3, 10, 120000)
    c.export_open("feedback-telemetry", 3600)
    c.approve("promote-model", "/queen/ctl")


def _medical_edge_ai(c: Client, sha: str) -> None:
    c.policy_apply("phi-handling", sha)
    c.lease_grant("imaging-triage", "jetson-clinic", "gpu-orin", 43200, 3)
    c.schedule("triage-infer", "worker-gpu", 3, 200, 43200000)
    c.export_open("deidentified-metrics", 1800)
    c.approve("clinician-review", "/queen/ctl")


def _logistics_twin(c: Client, sha: str) -> None:
    c.lease_grant("twin-sim", "mac-planners", "gpu-mps", 3600, 1)
    c.schedule("fleet-ingest", "worker-heartbeat", 2, 120, 60000)
    c.schedule("route-optimise", "worker-gpu", 2, 30, 600000)
    c.export_open("twin-snapshots", 3600)
    c.lease_renew("twin-sim", 3600, 1)


PLAYBOOKS: tuple[Playbook, ...] = (
    Playbook("mac-release-factory", "mac", "1000 Mac: release factory", _release_factory),
    Playbook("mac-private-peft-grid", "mac", "1000 Mac: private PEFT grid", _private_peft_grid),
    Playbook("mac-endpoint-compliance", "mac", "1000 Mac: endpoint compliance", _endpoint_compliance),
    Playbook("jetson-traffic-safety", "jetson", "1000 Jetson: traffic safety mesh", _traffic_safety),
    Playbook("jetson-manufacturing-safety-qa", "jetson", "1000 Jetson: manufacturing safety + QA", _manufacturing_qa),
    Playbook("jetson-critical-infrastructure-sensing", "jetson", "1000 Jetson: critical-infrastructure sensing", _critical_infra),
    Playbook("mixed-closed-loop-ai-factory", "mixed", "Mixed: closed-loop AI factory", _closed_loop_ai_factory),
    Playbook("mixed-medical-edge-ai", "mixed", "Mixed: medical edge AI", _medical_edge_ai),
    Playbook("mixed-logistics-digital-twin", "mixed", "Mixed: logistics digital twin", _logistics_twin),
)


def get(pid: str) -> Playbook:
    for p in PLAYBOOKS:
        if p.id == pid:
            return p
    raise KeyError(pid)
