"""
### reproduce_&lt;model&gt;: retrain a registered version from its lineage and compare

One DAG per model config; manual only (no schedule). Trigger it from the web UI form:

* `version` (required: Trigger stays disabled until it is filled in): the registered version to
  reproduce, e.g. `3`.
* `reason` (optional): recorded with the report.

One task, **reproduce** (`include/retrain/reproduce.py`): read the version's training run
(window, data hash, config snapshot and hash, code version, seed, library versions, hold-out
scores and metrics); pull the same window point-in-time with retrain's code; fit with the
recorded config snapshot and seed (not today's YAML); score the hold-out and compare.

Verdict `identical` (data hash, config, code and library versions unchanged, hold-out
predictions bit-identical), or `differs` with every reason found: data changed since (hash
mismatch), config changed (today's YAML against the snapshot, field by field), code changed,
library versions changed (which), predictions differ (max abs diff, share of rows). A verdict is
not a failure: the run succeeds either way. An unknown version, or one without lineage, fails at
once naming what to fix.

Nothing is registered and no alias moves. The report is JSON under
`reports/<model>/reproduce/version=<v>/report.json` and an MLflow run in the model's experiment
(tag `mlops.kind` = `reproduction`); the task's XCom is the report.

CLI without Airflow: `python -m include.retrain.reproduce <model> <version>`.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from include.config import ModelConfig, load_valid
from mlops_airflow.dag_defaults import mlops_dag, text_param


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "reproduce",
        doc_md=__doc__,
        description=f"Reproduce a registered version of {name} from its lineage",
        schedule=None,
        params={
            "version": Param(
                type="string",
                pattern=r"^[0-9]+$",
                title="Version to reproduce (required)",
                description="The registered version number, e.g. 3.",
            ),
            "reason": text_param("Why this reproduction", "Optional; recorded with the report."),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def reproduce(params=None, run_id=None) -> dict:
            from include.retrain.reproduce import reproduce as reproduce_version
            from mlops_airflow.hooks.registry import MlflowHook
            from mlops_airflow.hooks.storage import MlopsStorageHook
            from mlops_airflow.links import announce_run

            registry = MlflowHook().get_conn()  # no audit trail: nothing is moved
            report = reproduce_version(
                MlopsStorageHook().get_conn(),
                registry,
                name,
                params["version"],
                today=config,
                reason=params.get("reason") or "",
                actor=f"airflow:reproduce_{name}/{run_id}",
            )
            announce_run(registry, report["reproduction_run_id"], f"Reproduction run {report['reproduction_run_id']}")
            return report

        reproduce()
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
