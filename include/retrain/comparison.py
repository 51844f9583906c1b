"""A reproduction's comparisons and verdict: pure functions over what the training run recorded
(``include/retrain/lineage.py``) and what the reproduction found.

The verdict is ``identical`` when nothing differs: the data hash, the config (today's YAML
against the recorded snapshot), the code version, the library versions and the hold-out
predictions (bit for bit). Otherwise ``differs``, with one reason per difference found.
``predictions_identical`` says on its own whether the reproduced model scored the hold-out
exactly as recorded (it can, with the code changed since).
"""

from __future__ import annotations

from typing import Any

IDENTICAL = "identical"
DIFFERS = "differs"


def compare_scores(recorded: Any, reproduced: Any) -> dict[str, Any]:
    """Row-by-row comparison of two score vectors of the same hold-out.

    ``identical``: same length and every score bit-identical; ``max_abs_diff`` and the rows that
    differ at all (``share_differing`` of the rows). Different lengths cannot be compared row by
    row: only the lengths are reported."""
    import numpy as np

    a = np.asarray(recorded, dtype="float64")
    b = np.asarray(reproduced, dtype="float64")
    out: dict[str, Any] = {"rows_recorded": len(a), "rows_reproduced": len(b)}
    if len(a) != len(b):
        return {**out, "identical": False, "max_abs_diff": None, "rows_differing": None, "share_differing": None}
    diff = np.abs(a - b)
    differing = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return {
        **out,
        "identical": bool(not differing.any()),
        "max_abs_diff": float(np.nanmax(diff)) if len(diff) and not np.isnan(diff).all() else 0.0,
        "rows_differing": int(differing.sum()),
        "share_differing": float(differing.mean()) if len(a) else 0.0,
    }


def compare_metrics(recorded: dict[str, float], reproduced: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each metric recorded at training next to the reproduction's, with the difference."""
    out = {}
    for name in sorted(set(recorded) | set(reproduced)):
        before, now = recorded.get(name), reproduced.get(name)
        diff = None if before is None or now is None else now - before
        out[name] = {"recorded": before, "reproduced": now, "diff": diff}
    return out


def changed_libraries(recorded: dict[str, str] | None, now: dict[str, str]) -> list[dict[str, str | None]]:
    """``[{"name", "recorded", "now"}]`` for every library whose version changed (none when the run
    recorded no versions: that is a note, not a difference)."""
    if recorded is None:
        return []
    names = sorted(set(recorded) | set(now))
    return [{"name": n, "recorded": recorded.get(n), "now": now.get(n)} for n in names if recorded.get(n) != now.get(n)]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"estimator.params.max_iter": 150, ...}``: leaves by dotted path (lists are leaves)."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def changed_fields(snapshot: dict[str, Any], today: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``[{"field", "snapshot", "today"}]`` for every config field that differs between the
    recorded snapshot and today's config (dotted paths; none without today's config)."""
    if today is None:
        return []
    before, now = _flatten(snapshot), _flatten(today)
    missing = object()
    return [
        {"field": k, "snapshot": before.get(k), "today": now.get(k)}
        for k in sorted(set(before) | set(now))
        if before.get(k, missing) != now.get(k, missing)
    ]


MAX_FIELDS_NAMED = 5


def _fields_text(changed: list[dict[str, Any]]) -> str:
    named = [f"{c['field']} ({c['snapshot']!r} -> {c['today']!r})" for c in changed[:MAX_FIELDS_NAMED]]
    more = len(changed) - MAX_FIELDS_NAMED
    return ", ".join(named) + (f" and {more} more" if more > 0 else "")


def _short(value: str | None) -> str:
    return (value or "none")[:12]


def _prediction_reason(scores: dict[str, Any]) -> str:
    if scores["max_abs_diff"] is None:
        return (
            f"predictions differ: the reproduced hold-out has {scores['rows_reproduced']} rows, "
            f"{scores['rows_recorded']} were recorded"
        )
    return (
        f"predictions differ: max abs diff {scores['max_abs_diff']:.6g} on {scores['rows_differing']} of "
        f"{scores['rows_recorded']} hold-out rows ({scores['share_differing']:.1%})"
    )


def _data_reason(data: dict[str, Any]) -> str:
    return (
        f"data changed since training: data hash mismatch ({_short(data['recorded'])} recorded, "
        f"{_short(data['now'])} now; {data['rows_recorded']} rows recorded, {data['rows_now']} now)"
    )


def reasons(lineage: dict[str, Any], predictions: dict[str, Any]) -> list[str]:
    """One sentence per difference found (empty: the reproduction is identical). ``lineage`` is the
    report's lineage section (``data_hash``, ``config``, ``code_version``, ``libraries``)."""
    found = []
    data, config = lineage["data_hash"], lineage["config"]
    if not data["same"]:
        found.append(_data_reason(data))
    if config["snapshot_matches_tag"] is False:
        found.append(
            f"config snapshot does not match its recorded hash ({_short(config['recorded'])} recorded, "
            f"{_short(config['snapshot'])} computed): the snapshot artifact was altered"
        )
    if config["today"] is not None and config["today"] != config["snapshot"]:
        found.append(
            f"config changed since: today's config differs from the recorded snapshot in "
            f"{_fields_text(config['fields_changed'])} (the reproduction trained with the snapshot)"
        )
    code = lineage["code_version"]
    if not code["same"]:
        found.append(f"code changed: trained at {code['recorded']}, reproduced at {code['now']}")
    changed = lineage["libraries"]["changed"]
    if changed:
        named = ", ".join(f"{c['name']} {c['recorded']} -> {c['now']}" for c in changed)
        found.append(f"library versions changed: {named}")
    if not predictions["identical"]:
        found.append(_prediction_reason(predictions))
    return found


def verdict(found: list[str]) -> str:
    return IDENTICAL if not found else DIFFERS


def summary_line(report: dict[str, Any]) -> str:
    """One line for logs and notifications."""
    head = f"{report['model']} v{report['version']} reproduced: {report['verdict']}"
    scores = report["predictions"]
    if report["verdict"] == IDENTICAL:
        return f"{head} ({scores['rows_recorded']} hold-out predictions bit-identical)"
    unchanged = " (hold-out predictions still bit-identical)" if report["predictions_identical"] else ""
    return f"{head}: " + "; ".join(report["reasons"]) + unchanged
