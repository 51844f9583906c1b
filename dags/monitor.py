"""
### monitor_&lt;model&gt;: data quality, drift and live performance; retrain when the rules say so

One DAG per model config, on `schedules.monitor` (a run at 06:00 checks the day that ended).
Everything is compared with the **champion's** training run (scoring contract, reference
profile and sample, hold-out scores and metrics), never with re-read training data.

`load_reference` -> `check_quality` -> `check_drift` -> `check_performance` -> `decide`
-> `report` -> `request_retrain` ; `notify`

* **load_reference**: a *scheduled* run whose day has no committed features partition yet is
  skipped (log line: the missing partition and how to commit it), not failed and retried.
* **check_quality**: missing columns and type changes (errors), null-rate increase, values out
  of the training range, new categories, row count against the trailing average (warnings).
  An error stops drift and performance checks and never triggers a retrain.
* **check_drift** (`DriftCheckOperator`): per feature, the test evidently 0.7 would choose by
  default (overridable in `monitoring.stattests`), same verdicts, much faster; dataset drift
  when the share of drifted features reaches `monitoring.drift_share`; prediction drift of the
  published scores against the hold-out scores.
* **check_performance**: predictions joined to the labels that arrived, primary metric over
  `monitoring.performance_window_days` against the hold-out metric; a concept-drift detector
  (river ADWIN / Page-Hinkley / DDM) over the error stream.
* **decide**: each trigger in `monitoring.triggers` (dataset_drift, performance_drop, concept_drift,
  new_labels, model_age, manual) with its reason and numbers.
* **report**: evidently's HTML drift report (on samples) and a JSON summary under
  `reports/<model>/monitor/ds=YYYY-MM-DD/`, logged to MLflow with per-run metrics; then the
  summary's numbers to the Pushgateway (docs/production.md, "Metrics"; an outage only warns).
* **request_retrain**: one event on the asset `retrain_request/<model>` with the reasons and
  the training window end in its extra; `retrain_<model>` is scheduled on its cron or that
  asset. Never twice for one monitor run: a cleared task finds its run's event and skips.

Params (all optional; the form triggers with the defaults): `ds` (day to check; default: the
run's data interval start; the date picker shows the browser's format, the value is
YYYY-MM-DD), `retrain` (manual trigger), `reason` (why, for a manual trigger).
"""

from __future__ import annotations

import logging

from airflow.sdk import DAG, Param, task

from include.config import ModelConfig, load_valid
from mlops_airflow.dag_defaults import daily_timetable, date_param, mlops_dag, retrain_request_asset, text_param
from mlops_airflow.operators.monitor import DriftCheckOperator

log = logging.getLogger("airflow.task")


def build(config: ModelConfig) -> DAG:
    name = config.name
    retrain_request = retrain_request_asset(name)
    with mlops_dag(
        config,
        "monitor",
        doc_md=__doc__,
        description=f"Monitor {name}: quality, drift, live performance",
        schedule=daily_timetable(config.schedules.monitor),
        params={
            "ds": date_param("Day to check", "Empty: the run's data interval start."),
            "retrain": Param(False, type="boolean", title="Request a retrain (manual trigger)"),
            "reason": text_param("Why (for a manual retrain)", "Optional. Empty: 'manual trigger'.", max_length=300),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def load_reference(params=None, data_interval_start=None, dag_run=None) -> dict:
            from include.contracts import Dataset
            from include.monitor.reference import load_reference as load
            from include.platform.dates import partition_dates
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook
            from mlops_airflow.inputs import day_after, skip_scheduled_run_without_input

            ds = partition_dates(params.get("ds"), None, data_interval_start, getattr(dag_run, "run_after", None))[0]
            storage = MlopsStorageHook().get_conn()
            skip_scheduled_run_without_input(storage, Dataset.FEATURES, name, ds, day_after(ds), dag_run)
            return load(MlflowHook().get_conn(), config, ds)

        @task(multiple_outputs=False)
        def check_quality(reference: dict) -> dict:
            from include.monitor.quality import check_quality as check
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            quality = check(MlopsStorageHook().get_conn(), MlflowHook().get_conn(), config, reference, reference["ds"])
            log.info("%s", quality["summary"])
            return quality

        @task(multiple_outputs=False)
        def check_performance(reference: dict, quality: dict) -> dict | None:
            from include.monitor.live_performance import check_performance as check
            from mlops_airflow.hooks.storage import MlopsStorageHook

            performance = check(MlopsStorageHook().get_conn(), config, reference, reference["ds"], quality=quality)
            if performance:
                log.info("%s", performance.get("message") or performance.get("detail"))
            return performance

        @task(multiple_outputs=False)
        def decide(reference: dict, quality: dict, drift: dict | None, performance: dict | None, params=None) -> dict:
            from include.monitor.decision import decide_for_day
            from mlops_airflow.hooks.storage import MlopsStorageHook

            decision = decide_for_day(
                MlopsStorageHook().get_conn(), config, reference, quality, drift, performance, params
            )
            log.info("%s", decision["summary"])
            return decision

        @task(multiple_outputs=False)
        def report(reference: dict, quality: dict, drift, performance, decision: dict, run_id=None) -> dict:
            from include.monitor.report import read_summary, write_report
            from mlops_airflow.hooks.metrics import push_monitor_metrics
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            storage, registry = MlopsStorageHook().get_conn(), MlflowHook().get_conn()
            paths = write_report(storage, registry, config, reference, quality, drift, performance, decision, run_id)
            push_monitor_metrics(read_summary(storage, name, reference["ds"]))  # an outage only warns
            return paths

        @task(inlets=[retrain_request], outlets=[retrain_request], multiple_outputs=False)
        def request_retrain(reference: dict, decision: dict, dag_run=None, inlet_events=None, outlet_events=None):
            from airflow.sdk.exceptions import AirflowSkipException

            from include.monitor.retrain_request import plan_retrain_request

            earlier = inlet_events[retrain_request].after(dag_run.run_after)  # this run's events, if any
            plan = plan_retrain_request(
                config, decision, reference["ds"], earlier, dag_id=dag_run.dag_id, run_id=dag_run.run_id
            )
            if plan.request is None:
                raise AirflowSkipException(plan.why)
            outlet_events[retrain_request].extra = dict(plan.request)
            log.info("%s", plan.why)
            return plan.request

        @task(trigger_rule="none_failed", multiple_outputs=False)
        def notify(quality: dict, drift, decision: dict, paths: dict) -> dict:
            from include.monitor.notification import notify_outcome
            from mlops_airflow.hooks.connections import connection_dict

            return notify_outcome(config, quality, drift, decision, paths, resolve=connection_dict)

        reference = load_reference()
        quality = check_quality(reference)
        drift = DriftCheckOperator(
            task_id="check_drift",
            model_name=name,
            ds="{{ ti.xcom_pull(task_ids='load_reference')['ds'] }}",
            reference=reference,
            quality=quality,
        ).output
        performance = check_performance(reference, quality)
        decision = decide(reference, quality, drift, performance)
        paths = report(reference, quality, drift, performance, decision)
        paths >> request_retrain(reference, decision)
        notify(quality, drift, decision, paths)
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
