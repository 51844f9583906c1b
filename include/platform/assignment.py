"""Each entity's arm from a salted hash of its id: stable across days and runs, balanced.

``bucket(entity, salt)`` maps an id to ``[0, 1)`` with keyed BLAKE2b (the salt is the key, so a
new experiment reshuffles everyone independently of the last one); an entity is in the
treatment arm when its bucket is below the treatment share. The same id and salt give the same
arm on every machine and Python version (no ``hash()`` randomisation, no library hash that may
change between releases), so an entity never changes arm while an experiment runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from include.errors import ConfigError

CONTROL = "control"
TREATMENT = "treatment"
_SCALE = float(2**64)


def bucket(entity: object, salt: str) -> float:
    """The entity's position in ``[0, 1)`` for experiment ``salt``."""
    if not salt:
        raise ConfigError("an experiment needs a non-empty salt (e.g. '<model>-<experiment name>')")
    digest = hashlib.blake2b(str(entity).encode(), digest_size=8, key=salt.encode()[:64]).digest()
    return int.from_bytes(digest, "big") / _SCALE


def arm_of(entity: object, salt: str, treatment_share: float) -> str:
    """``treatment`` for a ``treatment_share`` of entities, ``control`` for the rest."""
    _check_share(treatment_share)
    return TREATMENT if bucket(entity, salt) < treatment_share else CONTROL


def assign_arms(entities: Iterable[object], salt: str, treatment_share: float) -> list[str]:
    """``arm_of`` for each entity, in order."""
    _check_share(treatment_share)
    return [TREATMENT if bucket(entity, salt) < treatment_share else CONTROL for entity in entities]


def in_share(entities: Iterable[object], salt: str, share: float) -> list[bool]:
    """Per entity, whether it is in the first ``share`` of buckets (a canary's entities); a
    share of 0 is nobody, 1 everybody."""
    if share <= 0:
        return [False for _ in entities]
    if share >= 1:
        return [True for _ in entities]
    return [bucket(entity, salt) < share for entity in entities]


def _check_share(share: float) -> None:
    if not 0.0 < share < 1.0:
        raise ConfigError(f"treatment_share must be between 0 and 1 (exclusive), got {share!r}")
