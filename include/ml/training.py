"""Build, split and fit the model described by a config. Deterministic for a given seed."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from include.config import ModelConfig, allowed_import_prefixes
from include.errors import TrainingError


def import_class(path: str, where: str = "estimator.class_path") -> Any:
    """The class (or factory) at ``path``, refused unless it and the module that defines it are
    under an allowed prefix (``include.config.imports``): a config is not a way to run code."""
    prefixes = allowed_import_prefixes()
    if not path.startswith(prefixes):
        raise TrainingError(f"{where}: {path!r} is not under an allowed module prefix {list(prefixes)}")
    module_name, _, attr = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TrainingError(f"{where}: {path!r} cannot be imported: {exc}") from exc
    defined_in = f"{getattr(obj, '__module__', None)}."
    if not defined_in.startswith(prefixes):
        raise TrainingError(
            f"{where}: {path!r} is defined in module {defined_in[:-1]!r}, which is not under an allowed prefix "
            f"{list(prefixes)}"
        )
    return obj


def _is_estimator(obj: Any) -> bool:
    return callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict", None))


def make_estimator(path: str, params: dict[str, Any], where: str = "estimator.class_path") -> Any:
    """An estimator from ``path``: a class with ``fit`` and ``predict``, or a factory function of
    the project's own code (not ``sklearn.``) whose result has both; anything else is refused
    before it is called."""
    obj = import_class(path, where)
    if inspect.isclass(obj):
        if not _is_estimator(obj):
            raise TrainingError(f"{where}: {path!r} is a class without fit and predict: not an estimator")
    elif not inspect.isfunction(obj) or path.startswith("sklearn."):
        raise TrainingError(
            f"{where}: {path!r} is a {type(obj).__name__}, not an estimator class "
            "(a factory function may live in include.extensions)"
        )
    try:
        estimator = obj(**params)
    except TypeError as exc:
        raise TrainingError(f"estimator.params do not fit {path}: {exc}") from exc
    if not _is_estimator(estimator):
        raise TrainingError(f"{where}: {path!r} returned a {type(estimator).__name__}, which has no fit and predict")
    return estimator


def build_estimator(config: ModelConfig) -> Any:
    """The config's estimator, behind impute/scale/one-hot preprocessing unless disabled."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    where = f"{config.source}: estimator.class_path"
    cls = import_class(config.estimator.class_path, where)
    params = dict(config.estimator.params)
    try:
        takes_seed = "random_state" in inspect.signature(cls).parameters
    except (TypeError, ValueError):  # no signature to read: make_estimator refuses it
        takes_seed = False
    if takes_seed and "random_state" not in params:
        params["random_state"] = config.training.seed
    estimator = make_estimator(config.estimator.class_path, params, where)
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
    from include.platform.skops_io import skops_io

    sio = skops_io()
    return sorted(sio.get_untrusted_types(data=sio.dumps(model)))


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
