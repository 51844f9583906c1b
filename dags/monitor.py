"""
### monitor_&lt;model&gt;: data quality, drift and live performance; retrain when the rules say so

One DAG per model config, on `schedules.monitor` (a run at 06:00 checks the day that ended).
Everything is compared with the **champion's** training run (scoring contract, reference
profile and sample, hold-out scores and metrics), never with re-read training data.

`load_reference` -> `check_quality` -> `check_drift` -> `check_performance` -> `decide`
-> `report` -> `should_retrain` -> `trigger_retrain` ; `notify`

* **check_quality**: missing columns and type changes (errors), null-rate increase, values out
  of the training range, new categories, row count against the trailing average (warnings).
  An error stops drift and performance checks and never triggers a retrain.
* **check_drift**: per feature, the test evidently 0.7 would choose by default (overridable in
  `monitoring.stattests`), same verdicts, much faster; dataset drift when the share of drifted
  features reaches `monitoring.drift_share`; prediction drift of the published scores against
  the hold-out scores.
* **check_performance**: predictions joined to the labels that arrived, primary metric over
  `monitoring.performance_window_days` against the hold-out metric; a concept-drift detector
  (river ADWIN / Page-Hinkley / DDM) over the error stream.
* **decide**: each trigger in `monitoring.triggers` (dataset_drift, performance_drop,
  new_labels, model_age, manual) with its reason and numbers.
* **report**: evidently's HTML drift report (on samples) and a JSON summary under
  `reports/<model>/monitor/ds=YYYY-MM-DD/`, logged to MLflow with per-run metrics.
* **trigger_retrain**: starts `retrain_<model>` with the reasons in its conf, run id
  `monitor__<this run id>`: never twice for the same monitor run.

Params: `ds` (day to check; default: the run's data interval start), `retrain` (manual
trigger), `reason` (why, for a manual trigger).
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, task

from include.config import ModelConfig, load_all
from include.contracts import Artifact, RunKind, Tag
from mlops_airflow.dag_defaults import daily_timetable, date_param, mlops_dag


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "monitor",
        doc_md=__doc__,
        description=f"Monitor {name}: quality, drift, live performance",
        schedule=daily_timetable(config.schedules.monitor),
        params={
            "ds": date_param("Day to check", "YYYY-MM-DD. Empty: the run's data interval start."),
            "retrain": Param(False, type="boolean", title="Request a retrain (manual trigger)"),
            "reason": Param("", type="string", maxLength=300, title="Why (for a manual retrain)"),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def load_reference(params=None, data_interval_start=None, dag_run=None) -> dict:
            from include.monitor.steps import load_reference as load
            from include.platform.dates import partition_dates
            from mlops_airflow.hooks.registry import MlflowHook

            reference = load(MlflowHook().get_conn(), config)
            reference["ds"] = partition_dates(
                params.get("ds"), None, data_interval_start, getattr(dag_run, "run_after", None)
            )[0]
            return reference

        @task(multiple_outputs=False)
        def check_quality(reference: dict) -> dict:
            from include.monitor.steps import check_quality as check
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            quality = check(MlopsStorageHook().get_conn(), MlflowHook().get_conn(), config, reference, reference["ds"])
            print(quality["summary"])
            return quality

        @task(multiple_outputs=False)
        def check_drift(reference: dict, quality: dict) -> dict | None:
            from include.monitor.steps import check_drift as check
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            if quality["failed"]:
                return None
            drift = check(MlopsStorageHook().get_conn(), MlflowHook().get_conn(), config, reference, reference["ds"])
            features = drift["features"]
            print(
                f"feature drift: {features['n_drifted']}/{features['n_columns']} drifted {features['drifted_columns']}"
            )
            return drift

        @task(multiple_outputs=False)
        def check_performance(reference: dict, quality: dict) -> dict | None:
            from include.monitor.steps import check_performance as check
            from mlops_airflow.hooks.storage import MlopsStorageHook

            if quality["failed"]:
                return None
            performance = check(MlopsStorageHook().get_conn(), config, reference, reference["ds"])
            print(performance.get("message") or performance.get("detail"))
            return performance

        @task(multiple_outputs=False)
        def decide(reference: dict, quality: dict, drift: dict | None, performance: dict | None, params=None) -> dict:
            import datetime as dt

            from include.monitor.steps import decide as decide_step
            from include.monitor.steps import new_labels_since
            from mlops_airflow.hooks.storage import MlopsStorageHook

            manual = (params.get("reason") or "manual trigger") if params.get("retrain") else None
            labels = new_labels_since(
                MlopsStorageHook().get_conn(), config, reference["trained_until"], reference["ds"]
            )
            decision = decide_step(config, reference, quality, drift, performance, labels, reference["ds"], manual)
            decision["window_end"] = (dt.date.fromisoformat(reference["ds"]) + dt.timedelta(days=1)).isoformat()
            decision["conf_reason"] = f"monitor_{name} {reference['ds']}: {decision['summary']}"[:500]
            print(decision["summary"])
            return decision

        @task(multiple_outputs=False)
        def report(reference: dict, quality: dict, drift, performance, decision: dict, run_id=None) -> dict:
            import json

            from include.monitor import steps as monitoring
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            storage, registry = MlopsStorageHook().get_conn(), MlflowHook().get_conn()
            ds = reference["ds"]
            prefix = f"reports/{name}/monitor/ds={ds}"
            summary = {
                "model": name,
                "ds": ds,
                "champion_version": reference["version"],
                "quality": quality,
                "drift": drift,
                "performance": performance,
                "decision": decision,
                "airflow_run_id": run_id,
            }
            storage.write_text(f"{prefix}/summary.json", json.dumps(summary, indent=2, default=str))
            html = monitoring.html_report(storage, registry, config, reference, ds) if not quality["failed"] else None
            if html:
                storage.write_text(f"{prefix}/drift_report.html", html)
            metrics = monitoring.metrics_for_mlflow(quality, drift, performance, decision)
            tags_ = {Tag.KIND: RunKind.MONITOR, Tag.DS: ds, Tag.MODEL_VERSION: reference["version"]}
            experiment = registry.experiment_id(name)
            mlflow_run = registry.upsert_run(experiment, f"monitor/{ds}", f"monitor {ds}", tags_, metrics)
            registry.client.log_text(mlflow_run, json.dumps(summary, indent=2, default=str), Artifact.MONITOR_SUMMARY)
            if html:
                registry.client.log_text(mlflow_run, html, Artifact.MONITOR_DRIFT_REPORT)
            paths = {"summary": storage.uri(f"{prefix}/summary.json")}
            if html:
                paths["html"] = storage.uri(f"{prefix}/drift_report.html")
            print(f"report: {paths}")
            return {**paths, "mlflow_run_id": mlflow_run}

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def should_retrain(decision: dict) -> bool:
            return bool(decision["retrain"])

        @task(trigger_rule="none_failed", multiple_outputs=False)
        def notify(quality: dict, drift, performance, decision: dict, paths: dict) -> dict:
            from include.notify.delivery import Notification, send
            from mlops_airflow.hooks.connections import connection_dict

            if quality["failed"]:
                event, subject = "failure", f"data quality failed: {quality['summary'].splitlines()[1][2:]}"
            elif decision["retrain"]:
                triggers = ", ".join(r["trigger"] for r in decision["reasons"])
                event, subject = "drift", f"retrain triggered ({triggers})"
            elif drift and drift["features"]["n_drifted"]:
                event, subject = "drift", f"{drift['features']['n_drifted']} feature(s) drifted; no retrain"
            else:
                event, subject = "success", "monitoring: no issue"
            body = "\n".join([decision["summary"], f"report: {paths.get('html') or paths['summary']}"])
            note = Notification(model=name, event=event, subject=subject, body=body, fields={"decision": decision})
            return {"subject": subject, "notifications": send(config, note, resolve=connection_dict)}

        reference = load_reference()
        quality = check_quality(reference)
        drift = check_drift(reference, quality)
        performance = check_performance(reference, quality)
        decision = decide(reference, quality, drift, performance)
        paths = report(reference, quality, drift, performance, decision)
        trigger_retrain = TriggerDagRunOperator(
            task_id="trigger_retrain",
            trigger_dag_id=f"retrain_{name}",
            trigger_run_id="monitor__{{ run_id }}",
            conf={
                "reason": "{{ ti.xcom_pull(task_ids='decide')['conf_reason'] }}",
                "window_end": "{{ ti.xcom_pull(task_ids='decide')['window_end'] }}",
            },
            skip_when_already_exists=True,
        )
        paths >> should_retrain(decision) >> trigger_retrain
        notify(quality, drift, performance, decision, paths)
    return dag


for _config in load_all():
    build(_config)
