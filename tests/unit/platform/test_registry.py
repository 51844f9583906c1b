"""ModelRegistry on a real MLflow tracking store (SQLite file): a version that does not exist is
a deterministic error (not retried) naming the model and the version."""

from __future__ import annotations

import pytest

from include.errors import NotRetryable, RegistryStateError
from include.platform.registry import ModelRegistry


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPS_MLFLOW_ARTIFACT_ROOT", str(root / "artifacts"))
        registry = ModelRegistry(f"sqlite:///{root / 'mlflow.db'}")
        registry.client.create_registered_model("churn")
        yield registry


def test_an_unknown_version_is_not_retryable(registry):
    with pytest.raises(RegistryStateError, match=r"model 'churn' has no version '7' in the registry") as info:
        registry.get("churn", 7)
    assert isinstance(info.value, NotRetryable)


def test_an_unknown_model_is_not_retryable_either(registry):
    with pytest.raises(RegistryStateError, match="model 'nope' has no version '1'"):
        registry.stage_of("nope", "1")
