"""skops.io in a task process: its import walks sys.modules, which Airflow's redirect modules
answer with one DeprecatedImportWarning per name; the project imports it without that flood."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import PROJECT

# One interpreter imports what a task process has imported before skops (Airflow first), then
# forks one child per way of importing skops.io: each child starts from that state (skops not
# yet imported, no warning shown yet) and writes its stdout and stderr to a file of its own.
SCRIPT = r"""
import os, sys
import airflow.sdk  # a task process has imported Airflow first
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

WAYS = {
    "plain": "import skops.io as sio",
    "project": "from include.platform.skops_io import skops_io; sio = skops_io()",
}
USE = (
    "X = np.random.default_rng(0).random((200, 3)); y = (X[:, 0] > .5).astype(int)\n"
    "data = sio.dumps(HistGradientBoostingClassifier(max_iter=3).fit(X, y))\n"
    "sio.loads(data, trusted=sio.get_untrusted_types(data=data))\n"
    "import warnings\n"
    "warnings.warn('The `airflow.utils.timezone.other` warning from elsewhere', FutureWarning)\n"
)
for way, import_line in WAYS.items():
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.path.join(sys.argv[1], way + ".out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        code = 0
        try:
            exec(import_line + "\n" + USE)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(way, os.waitstatus_to_exitcode(status))
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What each way of importing skops.io printed (``plain``, ``project``), from one run of SCRIPT."""
    folder = tmp_path_factory.mktemp("skops")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    texts = {way: (folder / f"{way}.out").read_text() for way in ("plain", "project")}
    assert result.stdout.split() == ["plain", "0", "project", "0"], result.stdout + str(texts)[-3000:]
    return texts


def test_plain_import_floods_the_log(outputs):
    """The problem is real with the installed versions (else the test below proves nothing)."""
    assert outputs["plain"].count("DeprecatedImportWarning") > 100


def test_project_import_saves_and_loads_without_the_flood(outputs):
    out = outputs["project"]
    assert "DeprecatedImportWarning" not in out
    assert "airflow.utils.timezone.other" in out  # other warnings still reach the log
