"""
### batch_score_&lt;model&gt;: score new feature partitions with the champion

One DAG per model config in `include/models/*.yaml`.

`resolve_models` -> `plan` -> `score` (mapped) -> `publish` -> `record` -> `notify` -> `check_dates`

Each date of a run stands alone: it is published, or it fails and publishes nothing, whatever
the other dates do. A run with a failed date still publishes, records and notifies the good
ones, then fails at `check_dates`, listing the published dates and each failed date with its
stage and reason (not retried: fix the data and score the failed dates again).

* **resolve_models**: a *scheduled* run whose date has no committed features partition yet is
  skipped (log line: the missing partition and how to commit it), not failed and retried; a
  manual run fails at `plan` instead. Then `models:/<name>@champion` (and `@challenger`) resolved once; the
  versions are pinned for the whole run, so a promotion during the run cannot mix models.
  `@champion` must be the audit trail's champion: an alias moved outside the pipeline (MLflow
  UI or API) fails the run at once; `reconcile_<name>` (restore_aliases) puts it back.
* **plan**: every input file's parquet footer is checked (readable, model columns present,
  compatible types). A date whose partition is not committed, unreadable, of the wrong schema
  or empty fails here (the others go on). The row groups are cut into units of about
  `total rows / scoring.max_parallel` rows, one date each (at least one unit per date), so a
  range may hold any number of dates up to Airflow's cap of 1,024 mapped tasks per task
  (about 1,000 days); a longer range fails at once: split it, or run
  `airflow backfill create --dag-id batch_score_<model> --from-date ... --to-date ...`
  (one run per day).
* **score**: one mapped task per unit, `scoring.max_parallel` of them at once
  (`max_active_tis_per_dagrun`), chunked (`scoring.chunk_rows`), so memory does not grow
  with the partition. Rows with a null key, a bad timestamp, an infinite value or a superseded
  duplicate id are quarantined with the reason; out-of-range values and unseen categories are
  scored and flagged (`flags` column) unless `scoring.out_of_range` / `unseen_category` say
  `quarantine` (README "Row policies"). A challenger scores the same rows into
  `shadow_predictions/` only. A unit whose input cannot be read
  (corrupt file, file gone since plan) reports it and fails its date, not the task; storage
  outages fail the task, which Airflow retries.
* **publish**: a date fails as a whole (nothing published for it) when too many of its rows
  were quarantined or a column is far more null than in training; its files from this run are
  removed (no empty `ds=` folders left). Every other date's
  `predictions/<model>/ds=YYYY-MM-DD/` is replaced atomically with a manifest (row counts,
  input files and hashes, model version, schema). Reruns never append duplicates. When no
  date passes, nothing is published and the task fails.
* **record**: prediction distribution and counts of the published dates to MLflow and the
  manifest; shadow agreement, score difference, error rate and latency to MLflow for the
  challenger version; Asset event `predictions/<model>`; the counts and rows per second to the
  Pushgateway (docs/production.md, "Metrics"; an outage only warns).
* **notify**: the published and the failed dates (event `failure` when a date failed).
* **check_dates**: fails the run when a date failed, after the good dates are published.

Params (all optional; the form triggers with the defaults): `ds` (first date to score;
default: the run's data interval start), `ds_end` (last date, inclusive, for a range),
`dry_run` (score and check, publish nothing). Dates: the form's date picker shows the
browser's format; the value is YYYY-MM-DD.
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
            "ds": date_param("Date to score", "Empty: the run's data interval start."),
            "ds_end": date_param("Last date to score (inclusive)", "Set to (re)score a range. Empty: only `ds`."),
            "dry_run": Param(False, type="boolean", title="Dry run: score and check, publish nothing"),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def resolve_models(params=None, data_interval_start=None, dag_run=None) -> dict:
            from include.contracts import Dataset
            from include.platform.dates import partition_dates
            from include.score.pinning import pin_models
            from mlops_airflow.hooks.registry import audited_registry
            from mlops_airflow.hooks.storage import MlopsStorageHook
            from mlops_airflow.inputs import day_after, skip_scheduled_run_without_input

            run_after = getattr(dag_run, "run_after", None)
            dates = partition_dates(params.get("ds"), params.get("ds_end"), data_interval_start, run_after)
            storage = MlopsStorageHook().get_conn()
            skip_scheduled_run_without_input(storage, Dataset.FEATURES, name, dates[0], day_after(dates[-1]), dag_run)
            return pin_models(
                audited_registry(),  # read-only here: @champion is checked against the audit trail
                config,
                ds=params.get("ds"),
                ds_end=params.get("ds_end"),
                interval_start=data_interval_start,
                run_after=run_after,
            )

        @task(multiple_outputs=False)
        def plan(pinned: dict, ti=None) -> list:
            from include.score.plan import plan_dates
            from mlops_airflow.hooks.storage import MlopsStorageHook

            planned = plan_dates(MlopsStorageHook().get_conn(), config, pinned["dates"])
            # The units are the return value (mapped over: Airflow maps only return values);
            # the dates that failed at plan go to publish under their own key.
            ti.xcom_push(key="failed", value=planned["failed"])
            return planned["units"]

        @task(
            multiple_outputs=False,
            map_index_template="{{ unit_label }}",
            max_active_tis_per_dagrun=config.scoring.max_parallel,
        )
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
        def publish(pinned: dict, units: list, scored: list, failed: dict, params=None, run_id=None) -> dict:
            from include.score.publish import publish_pinned
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook

            registry, storage = MlflowHook().get_conn(), MlopsStorageHook().get_conn()
            dry_run = bool(params.get("dry_run"))
            return publish_pinned(
                registry, storage, config, pinned, units, scored, run_id=run_id, dry_run=dry_run, failed=failed
            )

        @task(multiple_outputs=False, outlets=[predictions_asset(name)])
        def record(pinned: dict, published: dict, run_id=None, outlet_events=None) -> dict:
            from include.score.record import record_scoring_runs
            from mlops_airflow.hooks.metrics import push_scoring_metrics
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.links import announce_scoring_runs

            registry = MlflowHook().get_conn()
            recorded = record_scoring_runs(registry, config, pinned, published, run_id)
            if recorded["asset_extra"] is not None:  # None in a dry run: nothing was published
                outlet_events[predictions_asset(name)].extra = recorded["asset_extra"]
            # The published dates' manifest summaries to the Pushgateway (an outage only warns).
            push_scoring_metrics(name, pinned["champion"]["version"], published)
            announce_scoring_runs(registry, name, recorded)  # last line and extra link: the MLflow runs
            return recorded

        @task(multiple_outputs=False)
        def notify(pinned: dict, published: dict) -> dict:
            from include.notify.delivery import deliver
            from include.score.messages import scoring_notification
            from mlops_airflow.hooks.connections import connection_dict

            note = scoring_notification(name, pinned, published)
            return deliver(config, note, resolve=connection_dict)

        @task(multiple_outputs=False)
        def check_dates(published: dict) -> None:
            from include.score.publish import check_dates as check

            check(name, published)  # ScoringInputError listing published and failed dates

        pinned = resolve_models()
        planned = plan(pinned)
        scored = score.partial(pinned=pinned).expand(unit=planned)
        published = publish(pinned, planned, scored, planned["failed"])
        record(pinned, published) >> notify(pinned, published) >> check_dates(published)
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
