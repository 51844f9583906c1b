"""Build, split and fit the model described by a config. Deterministic for a given seed."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from include.config import ModelConfig
from include.errors import TrainingError


def import_class(path: str) -> type:
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TrainingError(f"estimator.class_path {path!r} cannot be imported: {exc}") from exc


def build_estimator(config: ModelConfig) -> Any:
    """The config's estimator, behind impute/scale/one-hot preprocessing unless disabled."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cls = import_class(config.estimator.class_path)
    params = dict(config.estimator.params)
    if "random_state" in inspect.signature(cls).parameters and "random_state" not in params:
        params["random_state"] = config.training.seed
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise TrainingError(f"estimator.params do not fit {config.estimator.class_path}: {exc}") from exc
    if not config.estimator.preprocessing:
        return estimator
    transformers = []
    if config.features.numeric:
        numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
        transformers.append(("numeric", numeric, config.features.numeric))
    if config.features.categorical:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value="__missing__")),
                ("onehot", OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False)),
            ]
        )
        transformers.append(("categorical", categorical, config.features.categorical))
    return Pipeline([("preprocess", ColumnTransformer(transformers)), ("model", estimator)])


def prepare_features(config: ModelConfig, frame: Any) -> Any:
    """Model input: feature columns in config order, categoricals as object dtype."""
    features = frame[config.features.all].copy()
    for column in config.features.categorical:
        features[column] = features[column].astype("object").where(features[column].notna(), None)
    for column in config.features.numeric:
        features[column] = features[column].astype("float64")
    return features


def split_holdout(config: ModelConfig, frame: Any) -> tuple[Any, Any]:
    """Out-of-time split: the latest ``holdout_fraction`` of rows (by timestamp) is held out.

    Ties are broken by entity id, so the split is the same on every run over the same data.
    """
    ordered = frame.sort_values([config.timestamp, config.entity_id], kind="stable").reset_index(drop=True)
    cut = round(len(ordered) * (1 - config.training.holdout_fraction))
    train, holdout = ordered.iloc[:cut], ordered.iloc[cut:]
    if config.task == "classification":
        for name, part in (("training", train), ("hold-out", holdout)):
            if part[config.target].nunique() < 2:
                raise TrainingError(f"the {name} split has a single class; widen training.window_days")
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def fit(config: ModelConfig, train: Any) -> Any:
    estimator = build_estimator(config)
    target = train[config.target]
    if config.task == "classification":
        target = target.astype("int64")
    try:
        estimator.fit(prepare_features(config, train), target)
    except (ValueError, TypeError) as exc:
        raise TrainingError(f"fitting {config.estimator.class_path} failed: {exc}") from exc
    return estimator


def untrusted_types(model: Any) -> list[str]:
    """Types skops would refuse to load without an explicit allow-list."""
    import skops.io

    return sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def check_trusted_types(config: ModelConfig, model: Any) -> list[str]:
    """The allow-list to save with; refuses a model needing types the config does not trust."""
    needed = untrusted_types(model)
    missing = sorted(set(needed) - set(config.skops_trusted_types))
    if missing:
        raise TrainingError(
            f"{config.source}: skops_trusted_types must list {missing} to save and load this model "
            "(skops refuses unknown types; review them before trusting)"
        )
    return needed
