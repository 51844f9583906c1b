"""Reading model configs: YAML mapping -> ``ModelConfig``, unknown and missing keys refused by name."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from include.config.checks import fail
from include.config.lifecycle import DeployConfig, MonitoringConfig
from include.config.model import ModelConfig
from include.config.notifications import NotificationTarget
from include.config.sections import (
    EstimatorConfig,
    EvaluationConfig,
    FeaturesConfig,
    GatesConfig,
    SchedulesConfig,
    ScoringConfig,
    TrainingConfig,
)
from include.errors import ConfigError

SECTIONS: dict[str, type] = {
    "features": FeaturesConfig,
    "estimator": EstimatorConfig,
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "gates": GatesConfig,
    "scoring": ScoringConfig,
    "deploy": DeployConfig,
    "monitoring": MonitoringConfig,
    "schedules": SchedulesConfig,
}


def build_section(cls: type, data: Any, where: str) -> Any:
    """Instantiate a section dataclass from a mapping, refusing unknown keys by name."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        fail(where, f"must be a mapping, got {type(data).__name__}")
    allowed = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    unknown = sorted(set(data) - allowed)
    if unknown:
        fail(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - set(data))
    if missing:
        fail(where, f"missing required key(s) {missing}")
    try:
        return cls(**data, _where=where)
    except TypeError as exc:  # e.g. a wrong type a section cannot coerce
        fail(where, str(exc))


def parse_config(data: Any, source: str = "<config>") -> ModelConfig:
    """Validate a config mapping (as read from YAML) into a ModelConfig."""
    if not isinstance(data, dict):
        fail(source, f"must be a YAML mapping, got {type(data).__name__}")
    top = {f.name for f in dataclasses.fields(ModelConfig) if f.name != "source"}
    unknown = sorted(set(data) - top)
    if unknown:
        fail(source, f"unknown key(s) {unknown}; allowed: {sorted(top)}")
    missing = sorted({"name", "task", "entity_id", "timestamp", "target", "features"} - set(data))  # noqa: contract
    if missing:
        fail(source, f"missing required key(s) {missing}")
    kwargs: dict[str, Any] = {k: v for k, v in data.items() if k not in SECTIONS and k != "notifications"}
    for key, cls in SECTIONS.items():
        if key in data:
            kwargs[key] = build_section(cls, data[key], f"{source}: {key}")
    if "notifications" in data:
        targets = data["notifications"]
        if not isinstance(targets, list):
            fail(f"{source}: notifications", "must be a list of targets")
        kwargs["notifications"] = [
            build_section(NotificationTarget, t, f"{source}: notifications[{i}]") for i, t in enumerate(targets)
        ]
    for key in ("skops_trusted_types", "tags"):
        if key in kwargs and not isinstance(kwargs[key], list):
            fail(f"{source}: {key}", f"must be a list, got {kwargs[key]!r}")
    return ModelConfig(**kwargs, source=source)


def load_config(path: str | os.PathLike) -> ModelConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    config = parse_config(data, source=str(path))
    if config.name != path.stem:
        fail(f"{path}: name", f"must equal the file name {path.stem!r}, got {config.name!r}")
    return config


def config_dir() -> Path:
    default = Path(__file__).resolve().parents[1] / "models"
    return Path(os.environ.get("MLOPS_CONFIG_DIR") or default)


def load_all(directory: str | os.PathLike | None = None) -> list[ModelConfig]:
    """Every ``*.yaml`` model config in the directory, sorted by name."""
    directory = Path(directory) if directory else config_dir()
    return [load_config(p) for p in sorted(directory.glob("*.yaml"))]


class LoadedConfigs(NamedTuple):
    """``load_valid``'s answer: the configs that are valid and, per broken file, why not."""

    configs: list[ModelConfig]
    errors: dict[str, str]  # config file -> error message (names the file and the field)


def load_valid(directory: str | os.PathLike | None = None) -> LoadedConfigs:
    """Every ``*.yaml`` model config in the directory that is valid, sorted by name, and the
    error of each one that is not: one broken file disables only its own model (the DAG files
    build the valid ones; ``dags/model_configs.py`` reports the broken ones as an import error).
    """
    directory = Path(directory) if directory else config_dir()
    configs: list[ModelConfig] = []
    errors: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            configs.append(load_config(path))
        except ConfigError as exc:
            errors[str(path)] = str(exc)
        except Exception as exc:  # a value of a type no check expected: still this file's fault
            errors[str(path)] = f"{path}: cannot be read as a model config: {type(exc).__name__}: {exc}"
    return LoadedConfigs(configs, errors)


# What Rich (which prints ``airflow dags list-import-errors``) reads as a markup tag and drops:
# "[" + a lowercase letter, "#", "/" or "@" ... "]" (rich.markup.RE_TAGS).
_RICH_TAG = re.compile(r"(\[[a-z#/@][^\[]*?\])")


def broken_configs_message(errors: dict[str, str]) -> str:
    """One message for every broken config (``load_valid().errors``), readable both in the web UI
    and in Rich's table: a tag-like ``[x...]`` (from a value quoted in a message) is escaped."""
    lines = [
        f"{len(errors)} model config(s) cannot be read: their models have no DAGs until fixed "
        "(the other models' DAGs are not affected):",
        *(f"- {message}" for _, message in sorted(errors.items())),
    ]
    return _RICH_TAG.sub(r"\\\1", "\n".join(lines))


def get_config(name: str, directory: str | os.PathLike | None = None) -> ModelConfig:
    directory = Path(directory) if directory else config_dir()
    path = directory / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"no model config {path}")
    return load_config(path)
