"""Payloads as the deploy steps produce them, from the real churn config (shared by the tests here)."""

from __future__ import annotations

from typing import Any

from include.deploy.criteria import evaluate_promotion
from include.deploy.payloads import GatheredEvidencePayload, ShadowEvidencePayload
from tests.unit.conftest import small_churn_config


def churn_config(**deploy: Any):
    """churn.yaml through ``parse_config``, ``deploy`` settings changed."""
    return small_churn_config(deploy=deploy) if deploy else small_churn_config()


def churn_config_scored_on(primary_metric: str):
    """churn.yaml with another primary metric (e.g. ``log_loss``, where lower is better)."""
    # (churn's min_slice_metric is a floor: refused for a lower-is-better primary metric)
    return small_churn_config(evaluation={"primary_metric": primary_metric}, gates={"min_slice_metric": None})


def good_evidence(**changes: Any) -> ShadowEvidencePayload:
    """Three days of shadow evidence that meet churn.yaml's every ``deploy`` criterion."""
    evidence: ShadowEvidencePayload = {
        "batches": 3,
        "rows": 1800,
        "hours": 72.0,
        "dates": ["2026-02-11", "2026-02-12", "2026-02-13"],
        "agreement": 0.95,
        "error_rate": 0.0,
        "latency_ms_per_1k": 30.0,
    }
    return {**evidence, **changes}


def gathered(
    config, challenger: str | None = "2", champion: str | None = "1", **evidence: Any
) -> GatheredEvidencePayload:
    """What the promote DAG's gather_evidence task returns for this evidence."""
    shadow = good_evidence(**evidence)
    verdict = evaluate_promotion(config, challenger, champion, shadow, {})
    return {
        "verdict": verdict.to_dict(),
        "summary": verdict.summary(),
        "evidence": shadow,
        "live": {},
        "rejected": False,
    }
