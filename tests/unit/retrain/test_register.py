"""The tags a new candidate version carries: lineage and gate verdicts."""

from __future__ import annotations

from include.contracts import Tag
from include.retrain.register import version_tags

PULLED = {"window_start": "2026-01-13", "window_end": "2026-02-10", "data_hash": "ab" * 32}
TRAINED = {"run_id": "r1", "model_uri": "models:/m-1", "holdout_key": "k", "run_key": "churn/key", "reused": False}


def test_lineage_and_passed_gates(monkeypatch):
    monkeypatch.setenv("MLOPS_CODE_VERSION", "abc123")
    gates = {"passed": True, "failed": [], "results": []}
    assert version_tags(PULLED, TRAINED, gates, "airflow:retrain_churn/run1") == {
        Tag.RUN_KEY: "churn/key",
        Tag.DATA_HASH: "ab" * 32,
        Tag.WINDOW: "2026-01-13..2026-02-10",
        Tag.CODE_VERSION: "abc123",
        Tag.GATES_PASSED: "true",
        Tag.GATES_FAILED: "-",
        Tag.ACTOR: "airflow:retrain_churn/run1",
    }


def test_failed_gates_are_named():
    gates = {"passed": False, "failed": ["min_roc_auc", "max_latency"], "results": []}
    tags = version_tags(PULLED, TRAINED, gates, "")
    assert tags[Tag.GATES_PASSED] == "false"
    assert tags[Tag.GATES_FAILED] == "min_roc_auc,max_latency"


def test_version_description_is_a_short_card_with_its_link():
    from include.config import get_config
    from include.retrain.register import version_description

    config = get_config("churn")
    pulled = {**PULLED, "rows": 12_000}
    card = "http://mlflow:5000/#/experiments/1/runs/r1/artifactPath/model_card/model_card.html"
    gates = {"passed": False, "failed": ["min_roc_auc"], "results": []}
    text = version_description(config, pulled, gates, card)  # type: ignore[arg-type]
    assert config.description in text
    assert "2026-01-13..2026-02-10 (12000 rows, data abababababab)" in text
    assert "Validation gates: failed: min_roc_auc." in text
    assert text.endswith(f"Model card: {card}")
