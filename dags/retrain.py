"""
### retrain_&lt;model&gt;: train, gate, register and qualify a model

One DAG per model config in `include/models/*.yaml`.

`pull_features` -> `validate_data` -> `train` -> `evaluate` -> `check_gates` -> `register`
-> `qualify` -> `notify`

* **pull_features**: labels that arrived in the training window, joined point-in-time to
  features (no feature from after a label's timestamp, one row per entity).
* **validate_data**: Great Expectations suite from the config and the data; failures stop the
  run with every failed expectation listed, and nothing is registered.
* **train**: seeded fit, tracked in MLflow (params, data window and hash, code version,
  requirements, signature, input example); saved with skops.
* **evaluate / check_gates**: hold-out metrics, champion on the same hold-out, slices, latency
  per 1,000 rows, model size; every verdict recorded in MLflow and XCom.
* **register / qualify**: registered as `candidate`; `challenger` alias if every gate passed,
  `rejected` if not. The first model of a name that passes every gate becomes `champion`.
  (Promotion of a challenger to champion is the `promote_<model>` DAG's.)
* **notify**: the run's summary JSON under `reports/<model>/retrain/` and a notification.

Params (web UI "Trigger DAG" form; all optional, the form triggers with the defaults):
`window_end` (default: the run's data interval end; the date picker shows the browser's format,
the value is YYYY-MM-DD), `window_days` (a whole number from 1 to 730; default: the config's
`training.window_days`; out of range or not whole is refused when triggering, never clamped),
`force` (retrain even if this window was trained), `dry_run` (train and evaluate, register
nothing), `reason` (recorded with the run's conf).

A *scheduled* (cron) run whose window has no committed labels partition is skipped at
`pull_features` (log line: the missing partitions and how to commit them), not failed and
retried; a manual or monitoring-requested run fails there with the same message.
"""

from __future__ import annotations

import logging

from airflow.sdk import DAG, Param, task

from include.config import ModelConfig, load_valid
from include.config.sections import MAX_TRAINING_WINDOW_DAYS
from mlops_airflow.dag_defaults import (
    checked_count,
    count_param,
    date_param,
    mlops_dag,
    model_asset,
    retrain_schedule,
    text_param,
)
from mlops_airflow.operators.retrain import ModelGateOperator, QualifyCandidateOperator, RegisterModelOperator
from mlops_airflow.operators.validation import DataValidationOperator

# Task ids the notify task reads the XCom of (both skipped in a dry run).
REGISTER = "register"
QUALIFY = "qualify"


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "retrain",
        doc_md=__doc__,
        description=f"Retrain {name}: {config.description}",
        schedule=retrain_schedule(config.schedules.retrain, name),
        params={
            "window_end": date_param("Training window end (exclusive)", "Empty: the run's data interval end."),
            "window_days": count_param(
                None,
                "Training window length (days)",
                f"Empty: {config.training.window_days} from the model config.",
                minimum=1,
                maximum=MAX_TRAINING_WINDOW_DAYS,  # the config's own bound
            ),
            "force": Param(False, type="boolean", title="Retrain even if this window was already trained"),
            "dry_run": Param(False, type="boolean", title="Dry run: train and evaluate, register nothing"),
            "reason": text_param("Why this run", "Optional; recorded with the run's conf."),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def pull_features(params=None, data_interval_end=None, dag_run=None, triggering_asset_events=None) -> dict:
            from include.contracts import Dataset
            from include.retrain.pull import pull
            from include.retrain.window import resolve_window
            from mlops_airflow.dag_defaults import requested_retrain
            from mlops_airflow.hooks.storage import MlopsStorageHook
            from mlops_airflow.inputs import skip_scheduled_run_without_input

            requested = requested_retrain(triggering_asset_events, name)  # {} unless monitoring asked
            if requested:
                logging.getLogger(__name__).info("retrain requested by monitoring: %s", requested["reason"])
            window = resolve_window(
                config,
                window_end=params.get("window_end") or requested.get("window_end"),
                window_days=checked_count(params, "window_days", minimum=1, maximum=MAX_TRAINING_WINDOW_DAYS),
                interval_end=data_interval_end,
                run_after=getattr(dag_run, "run_after", None),
            )
            storage = MlopsStorageHook().get_conn()
            skip_scheduled_run_without_input(storage, Dataset.LABELS, name, window.start, window.end, dag_run)
            return pull(storage, config, window)

        @task(multiple_outputs=False)
        def train(pulled: dict, params=None, run_id=None) -> dict:
            from include.retrain.train import train as train_candidate
            from mlops_airflow.hooks.registry import MlflowHook, audited_registry
            from mlops_airflow.hooks.storage import MlopsStorageHook
            from mlops_airflow.links import announce_run

            actor, force = f"airflow:retrain_{name}/{run_id}", bool(params.get("force"))
            # The audit database holds the retrain claim (one run per window and data at a time);
            # a dry run registers nothing, so it claims nothing.
            registry = MlflowHook().get_conn() if params.get("dry_run") else audited_registry()
            storage = MlopsStorageHook().get_conn()
            trained = train_candidate(storage, registry, config, pulled, actor=actor, force=force)
            announce_run(
                registry, trained["run_id"], f"{'Reused' if trained['reused'] else 'Trained'} run {trained['run_id']}"
            )
            return trained

        @task(multiple_outputs=False)
        def evaluate(trained: dict) -> dict:
            from include.retrain.evaluate import evaluate_candidate
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            return evaluate_candidate(MlopsStorageHook().get_conn(), MlflowHook().get_conn(), config, trained)

        @task(trigger_rule="none_failed", multiple_outputs=False)
        def notify(pulled: dict, trained: dict, evaluated: dict, gates: dict, ti=None) -> dict:
            from include.retrain.report import report_run
            from mlops_airflow.hooks.connections import connection_dict
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            # Skipped in a dry run: then these pulls return None.
            registered = ti.xcom_pull(task_ids=REGISTER)
            qualified = ti.xcom_pull(task_ids=QUALIFY)
            storage, tracking_uri = MlopsStorageHook().get_conn(), MlflowHook().tracking_uri()
            payloads = (pulled, trained, evaluated, gates, registered, qualified)
            return report_run(storage, config, *payloads, tracking_uri=tracking_uri, resolve=connection_dict)

        pulled = pull_features()
        validated = DataValidationOperator(
            task_id="validate_data",
            model_name=name,
            dataset_key="{{ ti.xcom_pull(task_ids='pull_features')['dataset_key'] }}",
        )
        trained = train(pulled)
        evaluated = evaluate(trained)
        gates = ModelGateOperator(task_id="check_gates", model_name=name, trained=trained, evaluated=evaluated)
        registered = RegisterModelOperator(
            task_id=REGISTER,
            model_name=name,
            pulled=pulled,
            trained=trained,
            gates=gates.output,
            dry_run="{{ params.dry_run }}",
        )
        qualified = QualifyCandidateOperator(
            task_id=QUALIFY,
            model_name=name,
            registered=registered.output,
            gates=gates.output,
            outlets=[model_asset(name)],
        )
        pulled >> validated >> trained
        summary = notify(pulled, trained, evaluated, gates.output)
        qualified >> summary
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
