"""
### batch_score_&lt;model&gt;: score new feature partitions with the champion

One DAG per model config in `include/models/*.yaml`.

`resolve_models` -> `plan` -> `score` (mapped) -> `publish` -> `record` -> `notify`

* **resolve_models**: `models:/<name>@champion` (and `@challenger`) resolved once; the
  versions are pinned for the whole run, so a promotion during the run cannot mix models.
  `@champion` must be the audit trail's champion: an alias moved outside the pipeline (MLflow
  UI or API) fails the run at once; `reconcile_<name>` (restore_aliases) puts it back.
* **plan**: every input file's parquet footer is checked (readable, model columns present,
  compatible types) and the row groups are cut into at most `scoring.max_parallel` units.
* **score**: one mapped task per unit, chunked (`scoring.chunk_rows`), so memory does not grow
  with the partition. Rows with a null key, a bad timestamp, an infinite value or a superseded
  duplicate id are quarantined with the reason; out-of-range values and unseen categories are
  scored and flagged (`flags` column) unless `scoring.out_of_range` / `unseen_category` say
  `quarantine` (README "Row policies"). A challenger
  scores the same rows into `shadow_predictions/` only.
* **publish**: the partition fails as a whole (nothing published) when too many rows were
  quarantined or a column is far more null than in training; otherwise
  `predictions/<model>/ds=YYYY-MM-DD/` is replaced atomically with a manifest (row counts, input
  files and hashes, model version, schema). Reruns never append duplicates.
* **record**: prediction distribution and counts to MLflow and the manifest; shadow agreement,
  score difference, error rate and latency to MLflow for the challenger version; Asset event
  `predictions/<model>`.

Params: `ds` (first date to score; default: the run's data interval start), `ds_end` (last
date, inclusive, for a range), `dry_run` (score and check, publish nothing).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from include.config import ModelConfig, load_valid
from mlops_airflow.dag_defaults import daily_timetable, date_param, mlops_dag, predictions_asset


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "batch_score",
        doc_md=__doc__,
        description=f"Batch scoring for {name}",
        schedule=daily_timetable(config.schedules.score),
        params={
            "ds": date_param("Date to score", "YYYY-MM-DD. Empty: the run's data interval start."),
            "ds_end": date_param("Last date to score (inclusive)", "Set to (re)score a range; one partition per day."),
            "dry_run": Param(False, type="boolean", title="Dry run: score and check, publish nothing"),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def resolve_models(params=None, data_interval_start=None, dag_run=None) -> dict:
            from include.score.pinning import pin_models
            from mlops_airflow.hooks.registry import audited_registry

            return pin_models(
                audited_registry(),  # read-only here: @champion is checked against the audit trail
                config,
                ds=params.get("ds"),
                ds_end=params.get("ds_end"),
                interval_start=data_interval_start,
                run_after=getattr(dag_run, "run_after", None),
            )

        @task(multiple_outputs=False)
        def plan(pinned: dict) -> list:
            from include.score.plan import plan as plan_units
            from mlops_airflow.hooks.storage import MlopsStorageHook

            return plan_units(MlopsStorageHook().get_conn(), config, pinned["dates"])

        @task(multiple_outputs=False, map_index_template="{{ unit_label }}")
        def score(unit: dict, pinned: dict, run_id=None) -> dict:
            from airflow.sdk import get_current_context

            from include.score.plan import unit_label
            from include.score.unit import score_pinned_unit
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            get_current_context()["unit_label"] = unit_label(unit)
            registry, storage = MlflowHook().get_conn(), MlopsStorageHook().get_conn()
            return score_pinned_unit(registry, storage, config, unit, pinned, run_id=run_id)

        @task(multiple_outputs=False)
        def publish(pinned: dict, units: list, scored: list, params=None, run_id=None) -> dict:
            from include.score.publish import publish_pinned
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            registry, storage = MlflowHook().get_conn(), MlopsStorageHook().get_conn()
            dry_run = bool(params.get("dry_run"))
            return publish_pinned(registry, storage, config, pinned, units, scored, run_id=run_id, dry_run=dry_run)

        @task(multiple_outputs=False, outlets=[predictions_asset(name)])
        def record(pinned: dict, published: dict, run_id=None, outlet_events=None) -> dict:
            from include.score.record import record_scoring_runs
            from mlops_airflow.hooks.registry import MlflowHook

            recorded = record_scoring_runs(MlflowHook().get_conn(), config, pinned, published, run_id)
            if recorded["asset_extra"] is not None:  # None in a dry run: nothing was published
                outlet_events[predictions_asset(name)].extra = recorded["asset_extra"]
            return recorded

        @task(multiple_outputs=False)
        def notify(pinned: dict, published: dict) -> dict:
            from include.notify.delivery import send
            from include.score.messages import scoring_notification
            from mlops_airflow.hooks.connections import connection_dict

            note = scoring_notification(name, pinned, published)
            return {"subject": note.subject, "notifications": send(config, note, resolve=connection_dict)}

        pinned = resolve_models()
        planned = plan(pinned)
        scored = score.partial(pinned=pinned).expand(unit=planned)
        published = publish(pinned, planned, scored)
        record(pinned, published) >> notify(pinned, published)
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
