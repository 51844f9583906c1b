"""skops.io in a task process: its import walks sys.modules, which Airflow's redirect modules
answer with one DeprecatedImportWarning per name; the project imports it without that flood."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.conftest import PROJECT

SCRIPT = """
import airflow.sdk  # a task process has imported Airflow first
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
{import_line}
X = np.random.default_rng(0).random((200, 3)); y = (X[:, 0] > .5).astype(int)
data = sio.dumps(HistGradientBoostingClassifier(max_iter=3).fit(X, y))
sio.loads(data, trusted=sio.get_untrusted_types(data=data))
import warnings
warnings.warn("The `airflow.utils.timezone.other` warning from elsewhere", FutureWarning)
"""


def _output(import_line: str) -> str:
    script = SCRIPT.format(import_line=import_line)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_plain_import_floods_the_log():
    """The problem is real with the installed versions (else the test below proves nothing)."""
    assert _output("import skops.io as sio").count("DeprecatedImportWarning") > 100


def test_project_import_saves_and_loads_without_the_flood():
    out = _output("from include.platform.skops_io import skops_io; sio = skops_io()")
    assert "DeprecatedImportWarning" not in out
    assert "airflow.utils.timezone.other" in out  # other warnings still reach the log
