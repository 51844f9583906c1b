"""A short command that reads a partition exits 0 on a busy machine.

A runbook's one-line read of a partition (``python - <<EOF ... read_partition ... EOF``) printed
its answer, then aborted at interpreter exit (``terminate called without an active exception``,
exit 134) in CI: pyarrow's worker threads, still letting go of the Python object they had read
through, ended with the interpreter (include/platform/parquet.py says why). Here the same read
runs many times in fresh processes while other processes keep both cores busy, the condition the
abort needs: before the fix, 35 of 150 such runs aborted; each run must now exit 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.platform.partitions import publish_frame
from include.platform.storage import LocalStorage

PROJECT = Path(__file__).resolve().parents[2]
RUNS = 12
READ = """
from include.platform.partitions import read_partition
from include.platform.storage import get_storage

rows = read_partition(get_storage(), "predictions", "churn", "2026-02-11")
print(rows["model_version"].value_counts().to_string())
"""


@pytest.fixture
def busy_cores():
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for burner in burners:
        burner.kill()
        burner.wait()


def test_reading_a_partition_exits_cleanly_under_load(tmp_path, busy_cores):
    scores = pd.DataFrame(
        {"customer_id": np.arange(600), "model_version": np.repeat(["8", "10"], 300), "score": np.linspace(0, 1, 600)}
    )
    publish_frame(LocalStorage(str(tmp_path)), "predictions", "churn", "2026-02-11", scores)
    env = {**os.environ, "MLOPS_DATA_ROOT": str(tmp_path), "PYTHONPATH": str(PROJECT)}
    aborted = []
    for _ in range(RUNS):
        command = [sys.executable, "-c", READ]
        run = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
        assert "300" in run.stdout, run.stderr[-2000:]
        if run.returncode != 0:
            aborted.append((run.returncode, run.stderr.strip().splitlines()[-1:]))
    assert aborted == []
