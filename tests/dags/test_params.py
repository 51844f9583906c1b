"""Trigger forms (Params) of every DAG: they trigger with their defaults, optional Params accept
an empty box, bad values are refused naming the Param (never clamped), dates are date pickers.

What the web UI does with a schema is in plugins/mlops_airflow/dag_defaults.py (Airflow 3.3's
FlexibleForm: a type without "null" is required; top-level minimum/maximum clamp a number)."""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
KINDS = ("retrain", "batch_score", "monitor", "promote", "rollback", "reconcile", "reproduce")


def _required_on_purpose(dagbag) -> set[tuple[str, str]]:
    """Every rollback's reason (a rollback without a reason cannot be audited) and every
    reproduction's version (there is no default version to reproduce)."""
    reasons = {(dag_id, "reason") for dag_id in dagbag.dag_ids if dag_id.startswith("rollback_")}
    return reasons | {(dag_id, "version") for dag_id in dagbag.dag_ids if dag_id.startswith("reproduce_")}


@pytest.fixture(scope="module")
def dagbag():
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.fixture(scope="module")
def approval_task():
    """promote_churn's approve task, as built for a config with deploy.approval_required."""
    import runpy

    from include.config import load_valid

    config = next(c for c in load_valid().configs if c.name == "churn")
    config = dataclasses.replace(config, deploy=dataclasses.replace(config.deploy, approval_required=True))
    build = runpy.run_path(str(PROJECT / "dags" / "promote.py"), run_name="promote_for_test")["build"]
    return build(config).get_task("approve")


def _form_params(dagbag, approval_task=None):
    """(owner, name, Param) of every trigger form (and of the approval form when given)."""
    for dag_id in sorted(dagbag.dag_ids):
        params = dagbag.dags[dag_id].params
        for name in params:
            yield dag_id, name, params.get_param(name)
    for name in approval_task.params if approval_task else ():
        yield "approve", name, approval_task.params.get_param(name)


def _is_required(schema: dict) -> bool:
    """The web UI's rule (FlexibleForm isParamRequired): a type that does not include "null"."""
    kind = schema.get("type")
    return bool(kind) and not (isinstance(kind, list) and "null" in kind)


def test_every_dag_triggers_with_its_defaults_except_rollback_and_reproduce(dagbag):
    from airflow.sdk.exceptions import ParamValidationError

    required = {"rollback": "reason", "reproduce": "version"}
    for kind in KINDS:
        params = copy.deepcopy(dagbag.dags[f"{kind}_churn"].params)
        if kind in required:
            with pytest.raises(ParamValidationError, match=required[kind]):
                params.validate()
        else:
            params.validate()


def test_reproduce_needs_a_version_number_and_nothing_else(dagbag):
    from airflow.sdk.exceptions import ParamValidationError

    dag = dagbag.dags["reproduce_churn"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual only
    assert [t.task_id for t in dag.tasks] == ["reproduce"]
    params = copy.deepcopy(dag.params)
    with pytest.raises(ParamValidationError, match="Invalid input for param version: 'v3' does not match"):
        params["version"] = "v3"
    params["version"] = "3"
    params.validate()
    assert dict(params) == {"version": "3", "reason": None}


def test_no_param_is_required_but_rollbacks_reason_and_reproduces_version(dagbag, approval_task):
    """A required Param with an empty default keeps Trigger disabled and opens the form red;
    a required text Param refuses an empty box (the form sends null for it)."""
    from airflow.sdk.definitions._internal.types import NOTSET

    required = set()
    for owner, name, param in _form_params(dagbag, approval_task):
        empty_default = param.value is NOTSET or param.value is None or param.value == ""
        text = "string" in param.schema.get("type", []) and "enum" not in param.schema
        if _is_required(param.schema) and (empty_default or text):
            required.add((owner, name))
    assert required == _required_on_purpose(dagbag) and ("rollback_churn", "reason") in required
    assert ("reproduce_churn", "version") in required


def test_optional_text_params_accept_an_empty_box(dagbag, approval_task):
    from airflow.sdk.definitions.param import Param

    on_purpose = _required_on_purpose(dagbag)
    texts = [(o, n, p) for o, n, p in _form_params(dagbag, approval_task) if (o, n) not in on_purpose]
    texts = [(o, n, p) for o, n, p in texts if "string" in p.schema.get("type", []) and "enum" not in p.schema]
    names = {(o, n) for o, n, _ in texts}
    assert {("retrain_churn", "reason"), ("promote_churn", "freeze_override_reason"), ("approve", "reason")} <= names
    assert ("reproduce_churn", "reason") in names
    for owner, name, param in texts:
        assert Param(None, schema=param.schema).resolve() is None, (owner, name)


def test_no_number_field_is_clamped_by_the_form(dagbag):
    """Top-level minimum/maximum make the UI's number box clamp on blur (0 -> 1, silently)."""
    for owner, name, param in _form_params(dagbag):
        assert "minimum" not in param.schema and "maximum" not in param.schema, (owner, name)


@pytest.mark.parametrize(
    ("dag_id", "name", "value", "message"),
    [
        ("retrain_churn", "window_days", 0, "0 is less than the minimum of 1"),
        ("retrain_churn", "window_days", -3, "-3 is less than the minimum of 1"),
        ("retrain_churn", "window_days", 9999, "9999 is greater than the maximum of 730"),
        ("retrain_churn", "window_days", 2.5, "2.5 is not of type 'null', 'integer'"),
        ("retrain_churn", "window_end", "10/02/2026", "'10/02/2026' is not a 'date'"),
        ("batch_score_churn", "ds", "2026-02-30", "'2026-02-30' is not a 'date'"),
        ("batch_score_churn", "ds_end", "02/03/2026", "is not a 'date'"),
        ("monitor_churn", "ds", "yesterday", "is not a 'date'"),
        ("reconcile_churn", "stale_after_seconds", -1, "-1 is less than the minimum of 0"),
        ("rollback_churn", "target_version", "v3", "does not match"),
    ],
)
def test_bad_values_are_refused_naming_the_param(dagbag, dag_id, name, value, message):
    """The API runs this check when a run is triggered and shows the message in the form."""
    from airflow.sdk.exceptions import ParamValidationError

    params = copy.deepcopy(dagbag.dags[dag_id].params)
    with pytest.raises(ParamValidationError, match=f"Invalid input for param {name}: ") as caught:
        params[name] = value
    assert message in str(caught.value)


def test_bounds_are_stated_in_the_help_and_in_range_values_pass(dagbag):
    params = copy.deepcopy(dagbag.dags["retrain_churn"].params)
    assert "1 to 730" in params.get_param("window_days").description
    for value in (1, 730, None):
        params["window_days"] = value


def test_dates_are_date_pickers_whose_help_matches_what_the_picker_shows(dagbag):
    dated = {"ds", "ds_end", "window_end"}
    dates = [(d, n, p) for d, n, p in _form_params(dagbag) if n in dated or p.schema.get("format") == "date"]
    expected = {("batch_score_churn", "ds"), ("batch_score_churn", "ds_end"), ("retrain_churn", "window_end")}
    assert expected | {("monitor_churn", "ds")} <= {(d, n) for d, n, _ in dates}
    for dag_id, name, param in dates:
        assert param.schema["format"] == "date" and param.schema["type"] == ["null", "string"], (dag_id, name)
        assert "browser's date format" in param.description and "YYYY-MM-DD" in param.description, (dag_id, name)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), (14, 14), ("14", 14), (1, 1), (730, 730)],
)
def test_checked_count_passes_whole_numbers_in_range(value, expected):
    from mlops_airflow.dag_defaults import checked_count

    assert checked_count({"window_days": value}, "window_days", minimum=1, maximum=730) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "Param window_days must be from 1 to 730, got 0"),
        (-3, "Param window_days must be from 1 to 730, got -3"),
        (9999, "Param window_days must be from 1 to 730, got 9999"),
        (2.5, "Param window_days must be a whole number, got 2.5"),
        ("2.5", "Param window_days must be a whole number, got '2.5'"),
        (True, "Param window_days must be a whole number, got True"),
    ],
)
def test_checked_count_refuses_what_the_trigger_check_would(value, message):
    """For runs whose conf never went through the trigger-time check: no silent clamp or default."""
    from include.errors import NotRetryable, ParamError
    from mlops_airflow.dag_defaults import checked_count

    with pytest.raises(ParamError) as caught:
        checked_count({"window_days": value}, "window_days", minimum=1, maximum=730)
    assert str(caught.value) == message and isinstance(caught.value, NotRetryable)


def test_approval_form_opens_valid_and_lists_the_evidence(approval_task):
    """The Required Actions panel renders the body as Markdown: the evidence is one bullet per
    criterion (not one paragraph); the reason is optional, so the form does not open red."""
    from markdown_it import MarkdownIt

    from include.deploy.criteria import Criterion, PromotionVerdict
    from mlops_airflow.operators.approval import evidence_markdown

    verdict = PromotionVerdict(challenger="4", champion="3")
    verdict.criteria += [
        Criterion("min_shadow_batches", True, 5, 3, "5 shadow batches, needs 3"),
        Criterion("max_error_rate", False, 0.2, 0.01, "error rate 0.2 > 0.01"),
    ]
    html = MarkdownIt().render(evidence_markdown(verdict.summary()))
    assert html.count("<li>") == 2 and "<p>challenger v4 vs champion v3: not ready: max_error_rate</p>" in html
    assert "<li>[FAIL] max_error_rate: error rate 0.2 &gt; 0.01</li>" in html
    assert evidence_markdown("ready to promote") == "ready to promote" and evidence_markdown(None) == ""

    reason = approval_task.params.get_param("reason")
    assert not _is_required(reason.schema) and reason.resolve() is None
