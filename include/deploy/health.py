"""Does the champion still work? Load it through its alias, score the sample saved at training
and compare with the scores recorded then; optionally roll back when it does not."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from include.config import ModelConfig
from include.contracts import CHAMPION_ALIAS, Artifact, Column, alias_uri
from include.deploy.claims import HEALTH_ROLLBACK_POINTS
from include.deploy.messages import health_rollback_note, health_rollback_reason, unhealthy_message
from include.deploy.moves import rollback
from include.deploy.payloads import HealthCheckPayload
from include.errors import HealthCheckFailed

if TYPE_CHECKING:
    from include.notify.delivery import ConnectionResolver
    from include.platform.registry import ModelRegistry

log = logging.getLogger(__name__)


def check_champion_health(
    registry: ModelRegistry,
    config: ModelConfig,
    *,
    rollback_on_failure: bool,
    restore_version: str | None,
    actor: str,
    resolve: ConnectionResolver | None = None,
) -> HealthCheckPayload:
    """The champion's health check; a failure raises ``HealthCheckFailed`` (not retried).

    With ``rollback_on_failure`` the champion alias first goes back to ``restore_version``
    (empty: the previous champion), the failing version to ``rejected``, and a ``rollback``
    notification is sent (``resolve`` looks up the notification targets' connections).
    """
    health = health_check(registry, config)
    if health["ok"]:
        log.info("champion v%s passed its health check on %s rows", health["version"], health.get("rows"))
        return health
    if not rollback_on_failure:
        raise HealthCheckFailed(unhealthy_message(health))
    from include.notify.delivery import send

    rolled = rollback(
        registry,
        config,
        target=restore_version,
        reason=health_rollback_reason(health),
        actor=actor,
        points=HEALTH_ROLLBACK_POINTS,
    )
    note = health_rollback_note(config.name, health, rolled)
    send(config, note, resolve=resolve)
    raise HealthCheckFailed(f"{note.subject}: {note.body}")


def health_check(registry: ModelRegistry, config: ModelConfig) -> HealthCheckPayload:
    """Load ``models:/<name>@champion``, score the saved sample, compare with training's scores."""
    import numpy as np

    from include.ml.evaluation import predict_scores
    from include.platform.parquet import read_parquet_frame

    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is None:
        return {"ok": False, "version": None, "problems": ["no champion alias"]}
    try:
        model = registry.load_model(alias_uri(config.name, CHAMPION_ALIAS), config.skops_trusted_types)
        sample = read_parquet_frame(registry.download_artifact(champion.run_id, Artifact.HEALTH_SAMPLE))
        scores = np.asarray(predict_scores(config, model, sample), dtype="float64")
    except Exception as exc:
        return {"ok": False, "version": str(champion.version), "problems": [f"{type(exc).__name__}: {exc}"]}
    expected = sample[Column.EXPECTED_SCORE].to_numpy(dtype="float64")
    problems, diff = health_score_problems(config, scores, expected)
    return {
        "ok": not problems,
        "version": str(champion.version),
        "rows": len(sample),
        "max_abs_diff": diff,
        "problems": problems,
    }


def health_score_problems(config: ModelConfig, scores: Any, expected: Any) -> tuple[list[str], float]:
    """What is wrong with the champion's scores of the health sample, and their largest
    difference from the scores recorded at training (inf when the shapes differ)."""
    import numpy as np

    problems: list[str] = []
    if scores.shape != expected.shape:
        problems.append(f"{scores.shape[0]} scores for {expected.shape[0]} rows")
    if not np.isfinite(scores).all():
        problems.append("non-finite scores")
    if config.task == "classification" and ((scores < 0) | (scores > 1)).any():
        problems.append("scores outside [0, 1]")
    diff = float(np.max(np.abs(scores - expected))) if scores.shape == expected.shape else float("inf")
    if diff > config.deploy.health_tolerance:
        problems.append(
            f"scores differ from training's by up to {diff:.3g} (tolerance {config.deploy.health_tolerance})"
        )
    return problems, diff
