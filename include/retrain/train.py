"""Train stage: a seeded fit on the pulled dataset, tracked in MLflow with everything later
stages and pipelines read back (config, pull statistics, scoring contract, drift reference,
health sample, the skops model).

Idempotent: the run key names the window, the data and the config, and a rerun with the same
key reuses the finished run instead of training again (unless forced). With an audit database
(``registry.audit``) the key is first claimed there (``include/platform/audit/claims.py``): two
runs of the same window at once train and register once; the other waits (``RetrainClaimed``,
retried) and then reuses the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from include.config import ModelConfig
from include.contracts import Artifact, Column, Tag, training_prefix
from include.platform.audit.claims import RetrainClaims
from include.platform.parquet import frame_to_parquet, read_parquet_frame
from include.platform.registry import ModelRegistry, code_version
from include.platform.storage import Storage
from include.retrain.payloads import PulledDataset, TrainedRun
from include.retrain.tracking import log_run_bytes

PROJECT_DIR = Path(__file__).resolve().parents[2]
HEALTH_SAMPLE_ROWS = 200
EXPECTED_SCORE = Column.EXPECTED_SCORE


def config_hash(config: ModelConfig) -> str:
    return hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()


def run_key(config: ModelConfig, pulled: PulledDataset) -> str:
    """Same window, same data, same config: same key (a rerun reuses the run)."""
    return f"{config.name}/{pulled['window_end']}/{pulled['data_hash'][:16]}/{config_hash(config)[:12]}"


def holdout_key(config: ModelConfig, window_end: str) -> str:
    return f"{training_prefix(config.name, window_end)}/holdout.parquet"


def run_params(config: ModelConfig, pulled: PulledDataset, train_rows: int, holdout_rows: int) -> dict[str, Any]:
    """The run's MLflow params: the estimator's, the window and the split."""
    params: dict[str, Any] = {f"estimator.{k}": v for k, v in config.estimator.params.items()}
    params.update(
        {
            "estimator.class_path": config.estimator.class_path,
            "window_start": pulled["window_start"],
            "window_end": pulled["window_end"],
            "rows": pulled["rows"],
            "train_rows": train_rows,
            "holdout_rows": holdout_rows,
            "holdout_fraction": config.training.holdout_fraction,
            "seed": config.training.seed,
            "features.numeric": ",".join(config.features.numeric),
            "features.categorical": ",".join(config.features.categorical),
        }
    )
    return params


def run_tags(config: ModelConfig, pulled: PulledDataset, key: str, actor: str) -> dict[str, str]:
    return {
        Tag.RUN_KEY: key,
        Tag.MODEL: config.name,
        Tag.DATA_HASH: pulled["data_hash"],
        Tag.WINDOW: f"{pulled['window_start']}..{pulled['window_end']}",
        Tag.CODE_VERSION: code_version(),
        Tag.CONFIG_HASH: config_hash(config),
        Tag.ACTOR: actor,
    }


def retrain_claims(registry: ModelRegistry) -> RetrainClaims | None:
    """The claims of the registry's audit database; None without one (no claim is taken)."""
    return RetrainClaims(registry.audit) if getattr(registry, "audit", None) is not None else None


def _reusable_run(
    storage: Storage, registry: ModelRegistry, config: ModelConfig, key: str, holdout_at: str
) -> TrainedRun | None:
    """The finished run with this key (its hold-out still stored), as a reused ``TrainedRun``."""
    if (run := registry.find_run(config.name, key)) is None or not storage.exists(holdout_at):
        return None
    return TrainedRun(
        run_id=run.info.run_id, model_uri=run.data.tags[Tag.MODEL_URI], holdout_key=holdout_at, run_key=key, reused=True
    )


def train(
    storage: Storage,
    registry: ModelRegistry,
    config: ModelConfig,
    pulled: PulledDataset,
    *,
    actor: str = "",
    force: bool = False,
) -> TrainedRun:
    """Fit on the pulled dataset and log everything to MLflow (or reuse the same finished run).

    With an audit database the run key is claimed first for ``actor`` (the DAG run):
    ``RetrainClaimed`` while another live run holds it, ``RunTerminated`` when the claim was
    taken over during training."""
    key = run_key(config, pulled)
    claims, owner = retrain_claims(registry), actor or "unknown"
    claim = claims.claim(config.name, key, owner, force=force) if claims is not None else None
    holdout_at = holdout_key(config, pulled["window_end"])
    if not force:  # (a forced claim is never "done": claim() took it over for a new run)
        reused = _reusable_run(storage, registry, config, key, holdout_at)
        if reused is not None:
            if claims is not None and claim is not None and not claim.done:
                claims.renew(config.name, key, owner, run_id=reused["run_id"])
            return reused
    if claims is None or (claim is not None and claim.done):  # (done: register returns its version)
        return _train_new(storage, registry, config, pulled, key, actor)
    try:
        with claims.keep_alive(config.name, key, owner):
            trained = _train_new(storage, registry, config, pulled, key, actor)
    except BaseException:
        # Failed or stopped (SIGTERM): the next run takes the window over at once. (A killed
        # process cannot do this: its claim is taken over when the lease expires.)
        with contextlib.suppress(Exception):
            claims.release(config.name, key, owner)
        raise
    claims.renew(config.name, key, owner, run_id=trained["run_id"])  # RunTerminated if taken over meanwhile
    return trained


def _train_new(
    storage: Storage, registry: ModelRegistry, config: ModelConfig, pulled: PulledDataset, key: str, actor: str
) -> TrainedRun:
    """A new training run: fit, log everything, finish the run."""
    from mlflow.entities import Param
    from mlflow.models import infer_signature

    from include.ml.contract import scoring_contract
    from include.ml.evaluation import predict_scores
    from include.ml.profile import build_profile, reference_sample
    from include.ml.training import check_trusted_types, fit, prepare_features, split_holdout

    holdout_at = holdout_key(config, pulled["window_end"])
    frame = read_parquet_frame(storage.read_bytes(pulled["dataset_key"]))
    train_part, holdout = split_holdout(config, frame)
    model = fit(config, train_part)
    trusted = check_trusted_types(config, model)
    storage.write_bytes(holdout_at, frame_to_parquet(holdout))
    example = prepare_features(config, train_part.head(5))
    signature = infer_signature(example, predict_scores(config, model, train_part.head(5)))
    # The registry's client authenticates with the connection's credentials (fluent mlflow.* would not).
    client = registry.client
    run_name = f"retrain {pulled['window_end']}"
    tags = run_tags(config, pulled, key, actor)
    run_id = client.create_run(registry.experiment_id(config.name), run_name=run_name, tags=tags).info.run_id
    try:
        params = run_params(config, pulled, len(train_part), len(holdout))
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        client.log_dict(run_id, config.to_dict(), Artifact.MODEL_CONFIG)
        client.log_dict(run_id, dict(pulled), Artifact.PULL_STATS)
        client.log_dict(run_id, library_versions(), Artifact.LIBRARY_VERSIONS)
        contract = scoring_contract(config, train_part, predict_scores(config, model, holdout))
        client.log_dict(run_id, contract, Artifact.SCORING_CONTRACT)
        # Monitoring compares current data with this, never re-reading the training data.
        profile = build_profile(train_part, config.features.numeric, config.features.categorical)
        client.log_dict(run_id, profile, Artifact.REFERENCE_PROFILE)
        sample_bytes = frame_to_parquet(reference_sample(train_part, config.features.all, seed=config.training.seed))
        log_run_bytes(registry, run_id, Artifact.REFERENCE_SAMPLE, sample_bytes)
        # A saved sample and its scores: the post-promotion health check must reproduce them.
        sample = holdout.head(HEALTH_SAMPLE_ROWS)[[config.entity_id, config.timestamp, *config.features.all]].copy()
        sample[EXPECTED_SCORE] = predict_scores(config, model, sample)
        log_run_bytes(registry, run_id, Artifact.HEALTH_SAMPLE, frame_to_parquet(sample))
        model_uri = _log_model(registry, run_id, config, model, trusted, signature, example)
        client.set_tag(run_id, Tag.MODEL_URI, model_uri)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id)
    return TrainedRun(run_id=run_id, model_uri=model_uri, holdout_key=holdout_at, run_key=key, reused=False)


def _log_model(
    registry: ModelRegistry,
    run_id: str,
    config: ModelConfig,
    model: Any,
    trusted: list[str],
    signature: Any,
    example: Any,
) -> str:
    """The requirements and the skops model, into the run through the registry's client; the
    model's URI."""
    import mlflow.sklearn

    requirements = PROJECT_DIR / "requirements.txt"
    if requirements.exists():
        registry.client.log_artifact(run_id, str(requirements), Artifact.ENVIRONMENT_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / Artifact.MODEL
        mlflow.sklearn.save_model(
            model,
            str(saved),
            serialization_format="skops",
            skops_trusted_types=trusted,
            signature=signature,
            input_example=example,
            pyfunc_predict_fn="predict_proba" if config.task == "classification" else "predict",
            # Explicit: MLflow's inference would spawn a process that re-imports the model.
            pip_requirements=model_requirements(),
        )
        return str(registry.log_model_dir(run_id, saved))


def model_requirements() -> list[str]:
    """Pinned versions of what loading the model needs (a part of ``library_versions``)."""
    versions = library_versions()
    return [f"{name}=={versions[name]}" for name in ("scikit-learn", "skops", "pandas", "numpy", "scipy")]


# What a fit and its predictions depend on: a reproduction names the ones that changed since.
LINEAGE_LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "pyarrow", "skops", "joblib", "threadpoolctl")


def library_versions() -> dict[str, str]:
    """Python's version and the installed version of each of ``LINEAGE_LIBRARIES`` ("not installed"
    when absent), as recorded with every training run (``Artifact.LIBRARY_VERSIONS``)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in LINEAGE_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
