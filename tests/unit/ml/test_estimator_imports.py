"""``estimator.class_path`` reaches only estimators: a config is not a way to run code.

The prefix is checked when the config is read (tests/unit/config/test_hostile_config.py); here
the check where training imports the path, even when an operator allowed a prefix too widely.
"""

from __future__ import annotations

import pytest

from include.errors import TrainingError
from include.ml import training
from tests.unit.conftest import small_churn_config

pytestmark = pytest.mark.unit


def test_os_system_never_runs_even_under_an_allowed_prefix(tmp_path, monkeypatch):
    """The original finding: ``os.system`` with params ran a shell command at training."""
    marker = tmp_path / "ran"
    monkeypatch.setenv("MLOPS_ALLOWED_IMPORT_PREFIXES", "os")
    config = small_churn_config({"class_path": "os.system", "params": {"command": f"touch {marker}"}})
    with pytest.raises(TrainingError) as excinfo:
        training.build_estimator(config)
    message = str(excinfo.value)
    assert "test/churn.yaml: estimator.class_path" in message and "'os.system'" in message
    assert not marker.exists()


def test_prefix_is_checked_again_at_training(monkeypatch):
    monkeypatch.setenv("MLOPS_ALLOWED_IMPORT_PREFIXES", "os")
    config = small_churn_config({"class_path": "os.system", "params": {}})
    monkeypatch.delenv("MLOPS_ALLOWED_IMPORT_PREFIXES")
    with pytest.raises(TrainingError, match="not under an allowed module prefix"):
        training.build_estimator(config)


@pytest.mark.parametrize(
    ("class_path", "why"),
    [
        ("sklearn.preprocessing.StandardScaler", "without fit and predict"),  # a class, no predict
        ("sklearn.datasets.make_classification", "not an estimator class"),  # an sklearn function
        ("sklearn.utils.validation.wraps", "defined in module 'functools'"),  # re-exported from elsewhere
    ],
)
def test_only_estimator_classes_are_built(class_path, why):
    config = small_churn_config({"class_path": class_path, "params": {}})
    with pytest.raises(TrainingError) as excinfo:
        training.build_estimator(config)
    assert "estimator.class_path" in str(excinfo.value) and why in str(excinfo.value)


def test_a_project_factory_must_return_an_estimator(tmp_path, monkeypatch):
    package = tmp_path / "teamcode"
    package.mkdir()
    (package / "__init__.py").write_text("def not_a_model(**params):\n    return dict(params)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MLOPS_ALLOWED_IMPORT_PREFIXES", "teamcode")
    config = small_churn_config({"class_path": "teamcode.not_a_model", "params": {"a": 1}, "preprocessing": False})
    with pytest.raises(TrainingError, match="returned a dict, which has no fit and predict"):
        training.build_estimator(config)


def test_the_project_factory_builds():
    config = small_churn_config(
        {
            "class_path": "include.extensions.churn_features.churn_pipeline",
            "params": {"max_iter": 5},
            "preprocessing": False,
        }
    )
    estimator = training.build_estimator(config)
    assert callable(estimator.fit) and callable(estimator.predict)
