"""A fresh clone needs no hidden steps: from an empty state folder (no .local, no Airflow
metadata database) `scripts/airflow dags list` lists the project's DAGs and the deploy pool
exists, with the real Airflow CLI and no prior set-up."""

from __future__ import annotations

import os
import subprocess

from tests.e2e.conftest import PROJECT

DAGS = ("retrain_churn", "batch_score_churn", "monitor_churn", "promote_churn", "rollback_churn", "reconcile_churn")


def test_scripts_airflow_sets_up_a_fresh_clone(tmp_path) -> None:
    # What a fresh clone has: no state folder; nothing of a developer's environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLOPS_", "MLFLOW_"))}
    env["MLOPS_STATE_DIR"] = str(tmp_path / "local")

    def airflow(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(PROJECT / "scripts" / "airflow"), *args],
            env=env,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    listed = airflow("dags", "list")
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    assert "migration required" not in listed.stdout + listed.stderr
    assert [d for d in DAGS if d not in listed.stdout] == [], listed.stdout[-3000:]
    assert "first use of" in listed.stderr

    pool = airflow("pools", "get", "mlops_deploy")
    assert pool.returncode == 0, pool.stderr[-3000:]
    assert "mlops_deploy | 1" in pool.stdout
    assert "first use of" not in pool.stderr  # set up once
    assert (tmp_path / "local" / "airflow" / "airflow.db").exists()
