"""The "Model health" core (include/health): points from the summaries and manifests the
pipelines write, the status rules, the plots, the pages, and the audit trail read without writes."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from include.config import load_config
from include.health.audit_read import read_trail
from include.health.charts import all_charts
from include.health.gather import Sources, model_health, read_monitor, read_scoring, summary_of
from include.health.pages import model_list_page, model_page
from include.health.payloads import DEGRADED, DRIFTING, HEALTHY, NO_CHAMPION, Status, as_json
from include.health.series import monitor_point, scoring_point, top_drifting
from include.health.status import model_status
from include.health.svg import ChartSeries, bar_chart, line_chart
from include.monitor.payloads import (
    ColumnDriftPayload,
    Decision,
    DriftResult,
    FeatureDrift,
    PerformanceResult,
    PredictionDrift,
    QualityResult,
    Reference,
)
from include.monitor.report import monitor_summary
from include.platform.audit import AuditStore
from include.platform.partitions import publish_files
from include.platform.storage import LocalStorage
from tests.unit.conftest import CHURN_YAML

SVG = "{http://www.w3.org/2000/svg}"
CONFIG = load_config(CHURN_YAML)


def _column(name: str, score: float, threshold: float, drifted: bool, kind: str = "pvalue") -> ColumnDriftPayload:
    return ColumnDriftPayload(
        column=name,
        type="num",
        stattest="ks" if kind == "pvalue" else "psi",
        threshold=threshold,
        score=score,
        drifted=drifted,
        kind=kind,
        n_reference=500,
        n_current=600,
    )


def _summary(ds: str, *, drifted: list[str] = (), live: float = 0.80, flagged: bool = False, quality_failed=False):
    """``summary.json`` as include/monitor/report.py writes it (its own function, JSON round trip)."""
    columns = [
        _column("tenure_months", 0.001 if "tenure_months" in drifted else 0.4, 0.05, "tenure_months" in drifted),
        _column("monthly_charges", 0.0001 if "monthly_charges" in drifted else 0.6, 0.05, "monthly_charges" in drifted),
        _column(
            "discount_pct", 0.35 if "discount_pct" in drifted else 0.02, 0.2, "discount_pct" in drifted, "distance"
        ),
        _column("logins_30d", 0.9, 0.05, False),
    ]
    share = len(drifted) / len(columns)
    reference = Reference(
        version="1", run_id="r1", trained_until="2026-02-10", created="2026-02-10", holdout_metrics={"roc_auc": 0.82}
    )
    reference["ds"] = ds
    quality = QualityResult(
        rows=600, failed=quality_failed, issues=[], summary="missing column" if quality_failed else "ok", dates=[ds]
    )
    drift = DriftResult(
        model="churn",
        ds=ds,
        champion_version="1",
        window=f"{ds}..{ds}",
        features=FeatureDrift(
            dataset_drift=share >= 0.5,
            share_drifted=share,
            n_drifted=len(drifted),
            n_columns=len(columns),
            drift_share=0.5,
            drifted_columns=list(drifted),
            approximate=[],
            columns=columns,
        ),
        prediction=PredictionDrift(stattest="psi", threshold=0.2, score=0.05, drifted=False, rows=600),
    )
    performance = PerformanceResult(
        rows=600,
        metric="roc_auc",
        status="ok",
        value=live,
        current=live,
        reference=0.82,
        margin=0.05,
        drop=0.82 - live,
        flagged=flagged,
        message=f"roc_auc {live:.3f} vs 0.820",
    )
    decision = Decision(
        retrain=flagged, reasons=[], blocked_by=None, summary="no retrain", window_end=ds, retrain_reason=""
    )
    summary = monitor_summary(
        CONFIG,
        reference,
        quality,
        None if quality_failed else drift,
        None if quality_failed else performance,
        decision,
        f"manual__{ds}",
    )
    return json.loads(json.dumps(summary, default=str))


def _meta(ds: str, scored: int, quarantined: int = 0, flagged: int = 0, latency: float | None = 20.0) -> dict:
    """A predictions manifest's meta (include/score/publish.py ``_date_meta``; summary: DateSummary)."""
    rows_in = scored + quarantined
    return {
        "model_name": "churn",
        "model_version": "1",
        "run_id": f"scheduled__{ds}",
        "summary": {
            "rows_in": rows_in,
            "rows_scored": scored,
            "rows_quarantined": quarantined,
            "quarantine_share": quarantined / rows_in,
            "reasons": {},
            "rows_flagged": flagged,
            "flagged_share": flagged / rows_in,
            "flags": {},
            "null_rates": {},
            "histogram": [0] * 20,
            "score_range": [0.0, 1.0],
            "score_underflow": 0,
            "score_overflow": 0,
            "latency_ms_per_1k": latency,
        },
    }


def test_monitor_point_reads_a_written_summary():
    point = monitor_point(_summary("2026-02-21", drifted=["monthly_charges", "discount_pct"]))
    assert (point.ds, point.champion_version, point.drift_share, point.dataset_drift) == ("2026-02-21", "1", 0.5, True)
    assert point.drift_threshold == 0.5
    assert [c.column for c in point.top_drifting] == ["monthly_charges", "discount_pct", "tenure_months"]
    assert (point.metric, point.live_metric, point.holdout_metric) == ("roc_auc", 0.80, 0.82)
    assert point.prediction_drift_score == 0.05 and point.prediction_drifted is False
    assert point.airflow_run_id == "manual__2026-02-21"


def test_a_day_whose_quality_failed_has_no_drift_nor_performance():
    point = monitor_point(_summary("2026-02-25", quality_failed=True))
    assert point.quality_failed and point.quality_summary == "missing column"
    assert point.drift_share is None and point.live_metric is None and point.top_drifting == []


def test_top_drifting_ranks_pvalues_and_distances_by_how_far_past_the_threshold():
    columns = [_column("a", 0.04, 0.05, True), _column("b", 0.6, 0.2, True, "distance"), _column("c", 0.5, 0.05, False)]
    assert [c.column for c in top_drifting(columns, 2)] == ["b", "a"]  # 3x past vs 1.25x past


def test_scoring_point_throughput_is_the_inverse_of_latency():
    point = scoring_point("2026-02-11", _meta("2026-02-11", 590, quarantined=10, flagged=4, latency=20.0), 590)
    assert (point.rows_in, point.rows_scored, point.rows_quarantined, point.rows_flagged) == (600, 590, 10, 4)
    assert point.rows_per_second == pytest.approx(50_000) and point.airflow_run_id == "scheduled__2026-02-11"
    old = scoring_point("2026-01-01", {"model_version": "1"}, 300)  # a partition from before the summary
    assert (old.rows_scored, old.rows_per_second) == (300, None)


@pytest.mark.parametrize(
    ("champion", "summary", "meta", "status", "words"),
    [
        (None, {}, None, NO_CHAMPION, "no version is champion"),
        ("1", {"quality_failed": True}, None, DEGRADED, "data quality failed on 2026-02-21"),
        ("1", {"live": 0.6, "flagged": True}, None, DEGRADED, "roc_auc 0.600 vs 0.820"),
        ("1", {}, (500, 100), DEGRADED, "100 of 600 rows quarantined"),
        (
            "1",
            {"drifted": ["tenure_months", "monthly_charges"]},
            None,
            DRIFTING,
            "50% of columns drifted (monthly_charges, tenure_months)",
        ),
        ("1", {}, (600, 0), HEALTHY, "no drift on 2026-02-21, live roc_auc 0.800 (hold-out 0.820)"),
    ],
)
def test_status_rules(champion, summary, meta, status, words):
    monitor = [monitor_point(_summary("2026-02-21", **summary))]
    scoring = [scoring_point("2026-02-21", _meta("2026-02-21", *meta), meta[0])] if meta else []
    found = model_status(champion, monitor, scoring, CONFIG.scoring.max_quarantine_fraction)
    assert found.status == status and words in found.reason, found


def test_no_monitor_run_yet_is_healthy_and_says_so():
    assert model_status("2", [], []) == Status(HEALTHY, "not monitored yet")


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)  # raises on anything that is not well-formed XML


def test_line_chart_is_valid_svg_with_a_point_per_value_and_a_gap_for_none():
    root = _svg(
        line_chart("drift", ["2026-02-01", "2026-02-02", "2026-02-03"], [ChartSeries("s", [0.1, None, 0.3])], 0.5)
    )
    assert root.tag == f"{SVG}svg"
    circles = root.findall(f".//{SVG}circle")
    assert [c.find(f"{SVG}title").text for c in circles] == ["s 2026-02-01: 0.1", "s 2026-02-03: 0.3"]
    assert not root.findall(f".//{SVG}polyline")  # the missing day breaks the line: no segment of two
    ys = [float(c.get("cy")) for c in circles]
    assert ys[0] > ys[1]  # a higher value is drawn higher
    assert any("threshold: 0.5" in (t.text or "") for t in root.iter(f"{SVG}title"))


def test_bar_chart_stacks_counts_and_escapes_text():
    root = _svg(
        bar_chart("<rows & co>", ["d1", "d2"], [ChartSeries("scored", [5, 7]), ChartSeries("quarantined", [1, 0])])
    )
    titles = [r.find(f"{SVG}title").text for r in root.findall(f".//{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert titles == ["scored d1: 5", "quarantined d1: 1", "scored d2: 7"]
    assert root.find(f"{SVG}text").text == "<rows & co>"


def test_an_empty_chart_says_there_is_no_data():
    assert "no data yet" in "".join(_svg(line_chart("x", [], [])).itertext())


@pytest.fixture
def deployment(tmp_path):
    """A data root with three monitored and two scored days, and an audit trail with moves."""
    storage = LocalStorage(tmp_path / "data")
    for ds, kwargs in (("2026-02-20", {}), ("2026-02-21", {"drifted": ["tenure_months", "monthly_charges"]})):
        storage.write_text(f"reports/churn/monitor/ds={ds}/summary.json", json.dumps(_summary(ds, **kwargs)))
    storage.write_text("reports/churn/monitor/notes.txt", "not a day")
    for ds, scored in (("2026-02-20", 600), ("2026-02-21", 580)):
        publish_files(storage, "predictions", "churn", ds, [(b"parquet", scored)], _meta(ds, scored, 20))
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with AuditStore(url) as audit:
        audit.record("churn", "1", None, "candidate", actor="airflow:retrain_churn/manual__1", reason="registered")
        audit.record("churn", "1", "candidate", "champion", actor="airflow:retrain_churn/manual__1", reason="bootstrap")
        audit.record("churn", "2", None, "candidate", actor="airflow:retrain_churn/manual__2", reason="registered")
        audit.record("churn", "2", "candidate", "rejected", actor="jane", reason="gates failed")
    return Sources(storage=storage, audit_url=url)


def test_model_health_from_storage_and_the_audit_trail(deployment):
    health = model_health(deployment, CONFIG)
    assert health.problems == []
    assert (health.champion, health.challenger) == ("1", None)
    assert [(v.version, v.stage) for v in health.versions] == [("2", "rejected"), ("1", "champion")]
    assert [(m.from_stage, m.to_stage, m.actor) for m in health.versions[1].moves] == [
        (None, "candidate", "airflow:retrain_churn/manual__1"),
        ("candidate", "champion", "airflow:retrain_churn/manual__1"),
    ]
    assert [p.ds for p in health.monitor] == ["2026-02-20", "2026-02-21"]
    assert [(p.ds, p.rows_scored, p.rows_quarantined) for p in health.scoring] == [
        ("2026-02-20", 600, 20),
        ("2026-02-21", 580, 20),
    ]
    assert health.status.status == DRIFTING and "2026-02-21" in health.status.reason
    assert summary_of(health).last_scored == "2026-02-21"
    json.dumps(as_json(health))  # the API's answer is JSON


def test_pages_show_the_status_the_plots_and_the_timeline(deployment):
    health = model_health(deployment, CONFIG)
    page = model_page(health, "/mlops-health", "")
    assert page.count("<svg") == len(all_charts(health)) == 6
    assert "no data yet" not in page  # every plot has points here
    assert 'href="/dags/retrain_churn/runs/manual__1"' in page and 'target="_top"' in page
    assert "gates failed" in page and "drifting" in page
    assert 'href="/mlops-health/models/churn/drift/2026-02-21"' in page
    listing = model_list_page([summary_of(health)], "/mlops-health")
    assert 'href="/mlops-health/models/churn"' in listing and "drifting" in listing


def test_the_audit_trail_is_read_without_writing(tmp_path):
    missing = tmp_path / "state" / "audit.db"
    assert read_trail(f"sqlite:///{missing}", "churn") == ({}, [])
    assert not missing.exists() and not missing.parent.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert read_trail(f"sqlite:///{empty}", "churn") == ({}, [])
    with sqlite3.connect(empty) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []  # no tables created


def test_read_monitor_and_scoring_of_a_model_without_data(tmp_path):
    storage = LocalStorage(tmp_path)
    assert read_monitor(storage, "churn") == [] and read_scoring(storage, "churn") == []
    health = model_health(Sources(storage=storage, audit_url=f"sqlite:///{tmp_path / 'a.db'}"), CONFIG)
    assert health.status.status == NO_CHAMPION and "no data yet" in model_page(health, "/x", "")


def test_plot_grid_lines_fall_on_round_numbers():
    from include.health.svg import _y_range, tick_label, y_ticks

    # A drift share up to 0.36 with its 0.3 threshold, a live metric between 0.819 and 0.827,
    # p-values far below a 0.05 threshold, and a throughput of 157,877 rows/s.
    cases = {
        ((0.0, 0.36), 0.3, True): [0.0, 0.1, 0.2, 0.3, 0.4],
        ((0.819, 0.827), None, False): [0.8175, 0.82, 0.8225, 0.825, 0.8275, 0.83],
        ((1.6e-8, 4e-8, 0.0), 0.05, True): [0.0, 0.02, 0.04, 0.06],
        ((12.0, 157_877.0), None, True): [0, 50_000, 100_000, 150_000, 200_000],
    }
    for (values, reference, zero), expected in cases.items():
        assert y_ticks(*_y_range(list(values), reference, zero)) == pytest.approx(expected)
    assert [tick_label(v, 0.0025) for v in (0.8175, 0.82)] == ["0.8175", "0.8200"]
    assert [tick_label(v, 50_000) for v in (0, 150_000)] == ["0", "150,000"]
    assert tick_label(2e-8, 2e-8) == "2.0e-08"
