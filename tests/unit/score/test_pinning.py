"""The versions a scoring run uses (include/score/pinning.py), against a stand-in registry."""

from __future__ import annotations

import datetime as dt

import pytest

from include.contracts import CHALLENGER_ALIAS, CHAMPION_ALIAS, Artifact
from include.errors import NotRetryable, ParamError, RegistryStateError
from include.platform.registry import ModelRef
from include.score.pinning import load_pinned, pin_models, pinned_ref
from tests.unit.score.helpers import StubRegistry, Version, make_config

CONFIG = make_config()
RUN_AFTER = dt.datetime(2026, 2, 5, 5, tzinfo=dt.UTC)
DATES = {"ds": "2026-02-02", "ds_end": "2026-02-04", "interval_start": None, "run_after": RUN_AFTER}


def test_champion_and_challenger_are_pinned_with_the_dates(tmp_path):
    registry = StubRegistry(
        tmp_path, aliases={CHAMPION_ALIAS: Version(3, "run-3"), CHALLENGER_ALIAS: Version(4, "run-4")}
    )
    pinned = pin_models(registry, CONFIG, **DATES)
    assert pinned == {
        "champion": {"name": "churn", "version": "3", "run_id": "run-3"},
        "challenger": {"name": "churn", "version": "4", "run_id": "run-4"},
        "dates": ["2026-02-02", "2026-02-03", "2026-02-04"],
        "run_after": "2026-02-05T05:00:00+00:00",
        "canary": None,  # deploy.strategy shadow: the challenger is never published
    }
    assert registry.calls == [("alias_version", "churn", CHAMPION_ALIAS), ("alias_version", "churn", CHALLENGER_ALIAS)]


def test_a_canary_challenger_is_pinned_with_its_share_from_the_audit_trail(tmp_path):
    import dataclasses

    from include.platform.audit import AuditStore
    from include.platform.audit.canary import CanarySteps

    config = dataclasses.replace(CONFIG, deploy=dataclasses.replace(CONFIG.deploy, strategy="canary"))
    registry = StubRegistry(
        tmp_path, aliases={CHAMPION_ALIAS: Version(3, "run-3"), CHALLENGER_ALIAS: Version(4, "run-4")}
    )
    registry.audit = AuditStore(f"sqlite:///{tmp_path}/audit.db")
    # Before any step: the ramp's first share, salted per version.
    assert pin_models(registry, config, **DATES)["canary"] == {"share": 0.05, "salt": "churn:canary:v4"}
    CanarySteps(registry.audit).record("churn", "4", share=0.25, status="running", reason="advanced", actor="t")
    assert pin_models(registry, config, **DATES)["canary"] == {"share": 0.25, "salt": "churn:canary:v4"}


@pytest.mark.parametrize("challenger", [None, Version("3", "run-3")], ids=["no-challenger", "challenger-is-champion"])
def test_no_shadow_scoring_without_a_distinct_challenger(tmp_path, challenger):
    aliases = {CHAMPION_ALIAS: Version(3, "run-3"), **({CHALLENGER_ALIAS: challenger} if challenger else {})}
    assert pin_models(StubRegistry(tmp_path, aliases=aliases), CONFIG, **DATES)["challenger"] is None


def test_dates_default_to_the_data_interval(tmp_path):
    registry = StubRegistry(tmp_path, aliases={CHAMPION_ALIAS: Version(3, "run-3")})
    start = dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
    pinned = pin_models(registry, CONFIG, ds=None, ds_end=None, interval_start=start, run_after=None)
    assert pinned["dates"] == ["2026-02-10"]


def test_no_champion_fails_without_retries(tmp_path):
    with pytest.raises(
        RegistryStateError, match=r"model 'churn' has no 'champion' alias: run retrain_churn first"
    ) as caught:
        pin_models(StubRegistry(tmp_path), CONFIG, **DATES)
    assert isinstance(caught.value, NotRetryable)


def test_bad_dates_are_a_param_error(tmp_path):
    registry = StubRegistry(tmp_path, aliases={CHAMPION_ALIAS: Version(3, "run-3")})
    with pytest.raises(ParamError, match="Param ds_end 2026-02-01 is before ds 2026-02-02"):
        pin_models(registry, CONFIG, ds="2026-02-02", ds_end="2026-02-01", interval_start=None, run_after=None)


def test_load_pinned_loads_exactly_the_pinned_versions(tmp_path):
    champion, challenger = ModelRef("churn", "3", "run-3"), ModelRef("churn", "4", "run-4")
    registry = StubRegistry(
        tmp_path,
        models={champion.uri: "model-3", challenger.uri: "model-4"},
        contracts={"run-3": {"features": {}}},
    )
    pinned = {
        "champion": {"name": "churn", "version": "3", "run_id": "run-3"},
        "challenger": {"name": "churn", "version": "4", "run_id": "run-4"},
        "dates": [],
    }
    loaded = load_pinned(registry, CONFIG, pinned)
    assert loaded.champion == (champion, "model-3")
    assert loaded.challenger == (challenger, "model-4")
    assert loaded.contract == {"features": {}}
    assert registry.calls[-1] == ("download_artifact", "run-3", Artifact.SCORING_CONTRACT)
    assert pinned_ref(pinned["champion"]) == champion
    assert load_pinned(registry, CONFIG, {**pinned, "challenger": None}).challenger is None


def test_the_runs_time_is_pinned_in_utc_and_now_without_one(tmp_path):
    registry = StubRegistry(tmp_path, aliases={CHAMPION_ALIAS: Version(3, "run-3")})
    berlin = dt.timezone(dt.timedelta(hours=1))
    local = pin_models(registry, CONFIG, **{**DATES, "run_after": dt.datetime(2026, 2, 5, 6, tzinfo=berlin)})
    assert local["run_after"] == "2026-02-05T05:00:00+00:00"
    before = dt.datetime.now(dt.UTC)
    pinned = dt.datetime.fromisoformat(pin_models(registry, CONFIG, **{**DATES, "run_after": None})["run_after"])
    assert before <= pinned <= dt.datetime.now(dt.UTC)
