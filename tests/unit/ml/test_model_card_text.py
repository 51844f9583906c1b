"""The model card's text follows the config it scores with (include/ml/model_card.py)."""

from __future__ import annotations

from include.config import load_config
from include.ml.model_card import render_markdown
from tests.unit.conftest import DELIVERY_YAML, small_churn_config


def limits(markdown: str) -> list[str]:
    section = markdown.split("## Known limits\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("- ")]


def test_known_limits_follow_the_row_policies_and_the_task():
    churn = limits(render_markdown(small_churn_config(), {"version": "1"}, []))
    assert "- Scores are thresholded at 0.5 for labels; rank by score for other operating points." in churn
    flagged = "scored and published with a flag (`flags` column)"
    assert f"- Inputs far outside the training ranges are {flagged} at scoring." in churn
    strict = small_churn_config(scoring={"out_of_range": "quarantine", "unseen_category": "quarantine"})
    assert "- Categories unseen in training are quarantined at scoring." in limits(render_markdown(strict, {}, []))
    delivery = limits(render_markdown(load_config(DELIVERY_YAML), {"version": "1"}, []))
    assert not any("thresholded" in line for line in delivery)
    assert any("extrapolations" in line for line in delivery)
