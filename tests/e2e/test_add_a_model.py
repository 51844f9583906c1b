"""README "Add a model", run as written: the commands of its bash blocks, in order, from an empty
state folder and data root to the first scored day (real Airflow CLI through scripts/airflow,
MLflow on SQLite, the embedded default). Only the config folder is moved to tmp (the README
writes include/models/churn_eu.yaml) and the data step, which the README leaves to the
user's tools, lays out parquet files without commit markers."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.e2e.conftest import PROJECT

MODEL = "churn_eu"


def readme_commands() -> list[str]:
    text = (PROJECT / "README.md").read_text()
    section = text[text.index("## Add a model\n") : text.index("Every field is checked when the DAG files are parsed")]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = [re.sub(r"\s+#.*$", "", line.strip()) for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def lay_out_uncommitted_data(data_root: Path) -> None:
    """What another tool leaves: parquet files in ds= folders, no _manifest.json, no _SUCCESS."""
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import LocalStorage

    write_sample_data(LocalStorage(data_root), start="2026-01-01", days=60, model=MODEL)
    for manifest in data_root.rglob("_manifest.json"):
        manifest.unlink()


def test_the_readme_walks_a_model_to_its_first_scored_day(tmp_path) -> None:
    commands = readme_commands()
    assert commands[0] == "source scripts/env.sh" and any("include.platform.commit" in c for c in commands)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLOPS_", "MLFLOW_"))}
    env |= {"MLOPS_STATE_DIR": str(tmp_path / "local"), "MLOPS_CONFIG_DIR": str(tmp_path / "models")}
    (tmp_path / "models").mkdir()
    lay_out_uncommitted_data(tmp_path / "local" / "data")

    def bash(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            env=env,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    script = "\n".join(c.replace(f"include/models/{MODEL}.yaml", f"$MLOPS_CONFIG_DIR/{MODEL}.yaml") for c in commands)
    ran = bash(script + "\nscripts/airflow dags list")
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]
    out = ran.stdout
    assert out.splitlines()[0] == MODEL  # the config check printed the name
    assert "committed " in out and "rows" in out  # the commit command reported its partitions
    assert f"retrain_{MODEL}" in out and f"batch_score_{MODEL}" in out  # dags list
    # The predictions printed by the last README command: the champion's scores of the day.
    assert "score" in out and "model_version" in out and MODEL in out

    from include.platform.partitions import read_manifest, read_partition
    from include.platform.storage import LocalStorage

    storage = LocalStorage(tmp_path / "local" / "data")
    predictions = read_partition(storage, "predictions", MODEL, "2026-03-01")
    assert len(predictions) > 0 and set(predictions["model_version"].astype(str)) == {"1"}
    summary = tmp_path / "local" / "data" / "reports" / MODEL / "retrain" / "window_end=2026-03-02" / "summary.json"
    assert json.loads(summary.read_text())["stage"] == "champion"  # the bootstrap rule
    assert read_manifest(storage, "labels", MODEL, "2026-02-20") is not None


def test_retraining_uncommitted_labels_fails_saying_how_to_commit(tmp_path) -> None:
    from include.errors import FeaturePullError
    from include.platform.storage import LocalStorage
    from include.retrain.features import TrainingWindow, pull_training_data
    from tests.unit.conftest import small_churn_config

    lay_out_uncommitted_data(tmp_path)
    config = small_churn_config(replace={"name": MODEL})
    try:
        pull_training_data(LocalStorage(tmp_path), config, TrainingWindow.ending("2026-03-02", 28))
    except FeaturePullError as exc:
        message = str(exc)
    else:
        raise AssertionError("pulled uncommitted data")
    assert f"python -m include.platform.commit labels {MODEL} --from 2026-02-02 --to 2026-03-01" in message
