"""
### batch_score_&lt;model&gt;: score new feature partitions with the champion

One DAG per model config in `include/models/*.yaml`.

`resolve_models` -> `plan` -> `score` (mapped) -> `publish` -> `record` -> `notify`

* **resolve_models**: `models:/<name>@champion` (and `@challenger`) resolved once; the
  versions are pinned for the whole run, so a promotion during the run cannot mix models.
* **plan**: every input file's parquet footer is checked (readable, model columns present,
  compatible types) and the row groups are cut into at most `scoring.max_parallel` units.
* **score**: one mapped task per unit, chunked (`scoring.chunk_rows`), so memory does not grow
  with the partition. Rows failing hard checks against the training data (null key, value far
  out of the training range, unseen category) are quarantined with the reason. A challenger
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

from include.config import ModelConfig, load_all
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
            from include.platform.dates import partition_dates
            from include.score.steps import resolve_models as resolve
            from mlops_airflow.hooks.registry import MlflowHook

            pinned = resolve(MlflowHook().get_conn(), config)
            pinned["dates"] = partition_dates(
                params.get("ds"), params.get("ds_end"), data_interval_start, getattr(dag_run, "run_after", None)
            )
            return pinned

        @task(multiple_outputs=False)
        def plan(pinned: dict) -> list:
            from include.score.steps import plan as plan_step
            from mlops_airflow.hooks.storage import MlopsStorageHook

            return plan_step(MlopsStorageHook().get_conn(), config, pinned["dates"])

        @task(multiple_outputs=False, map_index_template="{{ unit_label }}")
        def score(unit: dict, pinned: dict, run_id=None) -> dict:
            from airflow.sdk import get_current_context

            from include.ml.contract import load_contract
            from include.platform.registry import ModelRef
            from include.score.steps import score_unit
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            get_current_context()["unit_label"] = f"{unit['ds']} #{unit['index']} ({unit['rows']} rows)"
            registry = MlflowHook().get_conn()
            champion = ModelRef(**pinned["champion"])
            models = {"champion": (champion, registry.load_model(champion.uri, config.skops_trusted_types))}
            if pinned.get("challenger"):
                ref = ModelRef(**pinned["challenger"])
                models["challenger"] = (ref, registry.load_model(ref.uri, config.skops_trusted_types))
            return score_unit(
                MlopsStorageHook().get_conn(),
                config,
                unit,
                models["champion"],
                load_contract(registry, champion),
                run_id=run_id,
                challenger=models.get("challenger"),
            )

        @task(multiple_outputs=False)
        def publish(pinned: dict, units: list, scored: list, params=None, run_id=None) -> dict:
            from include.ml.contract import load_contract
            from include.platform.registry import ModelRef
            from include.score.steps import publish as publish_step
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            champion = ModelRef(**pinned["champion"])
            contract = load_contract(MlflowHook().get_conn(), champion)
            return publish_step(
                MlopsStorageHook().get_conn(),
                config,
                units,
                list(scored),
                contract,
                champion,
                run_id=run_id,
                dry_run=bool(params.get("dry_run")),
            )

        @task(multiple_outputs=False, outlets=[predictions_asset(name)])
        def record(pinned: dict, published: dict, run_id=None, outlet_events=None) -> dict:
            from include.score.steps import record as record_step
            from mlops_airflow.hooks.registry import MlflowHook

            if published.get("dry_run"):
                return {"dry_run": True}
            recorded = record_step(MlflowHook().get_conn(), config, pinned, published, run_id)
            outlet_events[predictions_asset(name)].extra = {
                "dates": sorted(published["dates"]),
                "model_version": pinned["champion"]["version"],
            }
            return recorded

        @task(multiple_outputs=False)
        def notify(pinned: dict, published: dict) -> dict:
            from include.notify.delivery import Notification, send
            from mlops_airflow.hooks.connections import connection_dict

            dates = published["dates"]
            rows = sum(s["rows_scored"] for s in dates.values())
            quarantined = sum(s["rows_quarantined"] for s in dates.values())
            subject = (
                f"scored {rows} rows for {', '.join(sorted(dates))} with v{pinned['champion']['version']}"
                f" ({quarantined} quarantined){' [dry run]' if published.get('dry_run') else ''}"
            )
            note = Notification(model=name, event="success", subject=subject, fields={"dates": dates})
            return {"subject": subject, "notifications": send(config, note, resolve=connection_dict)}

        pinned = resolve_models()
        planned = plan(pinned)
        scored = score.partial(pinned=pinned).expand(unit=planned)
        published = publish(pinned, planned, scored)
        record(pinned, published) >> notify(pinned, published)
    return dag


for _config in load_all():
    build(_config)
