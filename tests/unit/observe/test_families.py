"""Deploy series from a real audit trail (SQLite), and the push's URL checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.errors import MetricsConfigError, NotRetryable
from include.observe import names
from include.observe.families import deploy_series
from include.observe.push import check_url, exposition, safe_url
from include.platform.audit import AuditStore

MODEL = "churn"


def _by_stage(series) -> dict[str, float]:
    return {s.labels["to_stage"]: s.value for s in series if s.metric is names.STAGE_CHANGES}


def test_deploy_series_count_the_audit_trail(tmp_path: Path) -> None:
    with AuditStore(f"sqlite:///{tmp_path / 'audit.db'}") as audit:
        audit.record(MODEL, "1", None, "shadow")
        audit.record(MODEL, "1", "shadow", "champion")
        audit.record(MODEL, "2", None, "shadow")
        audit.record(MODEL, "2", "shadow", "champion")  # v1 archived by the trail itself
        promoted = deploy_series(MODEL, "2", "promote", audit.history(MODEL), pushed_at=5.0)
        audit.record(MODEL, "1", "archived", "champion")  # a rollback to v1: v2 archived by the trail
        history = audit.history(MODEL)
        rolled_back = deploy_series(MODEL, "1", "rollback", history, pushed_at=6.0)
        rollback_row = next(r for r in history if r["version"] == "1" and r["from_stage"] == "archived")

    assert _by_stage(promoted) == {"shadow": 2, "champion": 2, "archived": 1}
    assert {s.labels["version"] for s in promoted} == {"2"}
    assert [s.value for s in promoted if s.metric is names.CHAMPION_VERSION] == [2.0]
    assert _by_stage(rolled_back) == {"shadow": 2, "champion": 3, "archived": 2}
    (moved,) = [s for s in rolled_back if s.metric is names.LAST_MOVE]
    assert moved.labels == {"model": MODEL, "version": "1", "action": "rollback"}
    assert moved.value == rollback_row["finished_at"].timestamp()
    # The same trail gives the same numbers: a retried task pushes no more than the first try.
    assert rolled_back == deploy_series(MODEL, "1", "rollback", history, pushed_at=6.0)
    text = exposition(rolled_back)
    assert "# TYPE mlops_deploy_stage_changes_total counter" in text
    assert 'mlops_deploy_stage_changes_total{model="churn",to_stage="champion",version="1"} 3.0' in text


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("pushgateway:9091", "http:// or https://"),
        ("ftp://pushgateway:9091", "http:// or https://"),
        ("http://pushgateway:port", "malformed"),
        ("http://:9091", "http:// or https://"),
    ],
)
def test_a_malformed_url_says_what_to_fix(url: str, fix: str) -> None:
    with pytest.raises(MetricsConfigError, match=fix) as error:
        check_url(url)
    assert isinstance(error.value, NotRetryable)
    assert "pushgateway_default" in str(error.value) and "MLOPS_PUSHGATEWAY_URL" in str(error.value)


def test_credentials_never_reach_messages() -> None:
    assert safe_url("https://user:s3cret@gateway.example:9091/base") == "https://gateway.example:9091/base"
    with pytest.raises(MetricsConfigError) as error:
        check_url("gopher://user:s3cret@gateway.example")
    assert "s3cret" not in str(error.value)
