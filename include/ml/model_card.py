"""Model cards: what a version is for, what it was trained on, how good it is, where it has been.

A card is rendered to Markdown and (markdown-it-py) to HTML with plots people would rather look at than read
(ROC and precision-recall curves, calibration, feature importance; residuals for regression).
It is logged with the version's training run under ``model_card/`` and re-rendered when the
version moves, so its promotion history stays current.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from typing import Any

from include.config import ModelConfig
from include.config.sections import RowPolicy
from include.contracts import CHAMPION, Artifact, Tag, evidence_tag


def plots(config: ModelConfig, model: Any, holdout: Any, max_rows: int = 5000) -> dict[str, bytes]:
    """PNG bytes by name, from the hold-out set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.calibration import calibration_curve
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import precision_recall_curve, roc_curve

    from include.ml.evaluation import predict_scores
    from include.ml.training import prepare_features

    sample = holdout.sample(n=min(max_rows, len(holdout)), random_state=0)
    y = sample[config.target].to_numpy()
    scores = predict_scores(config, model, sample)
    out: dict[str, bytes] = {}

    def save(fig: Any, name: str) -> None:
        buffer = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=90)
        plt.close(fig)
        out[name] = buffer.getvalue()

    if config.task == "classification":
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        fpr, tpr, _ = roc_curve(y, scores)
        axes[0].plot(fpr, tpr)
        axes[0].plot([0, 1], [0, 1], linestyle="--", color="grey")
        axes[0].set(title="ROC curve", xlabel="false positive rate", ylabel="true positive rate")
        precision, recall, _ = precision_recall_curve(y, scores)
        axes[1].plot(recall, precision)
        axes[1].axhline(y.mean(), linestyle="--", color="grey")
        axes[1].set(title="Precision-recall", xlabel="recall", ylabel="precision")
        observed, predicted = calibration_curve(y, scores, n_bins=10, strategy="quantile")
        axes[2].plot(predicted, observed, marker="o")
        axes[2].plot([0, 1], [0, 1], linestyle="--", color="grey")
        axes[2].set(title="Calibration", xlabel="mean predicted", ylabel="observed rate")
        save(fig, "performance.png")
    else:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        axes[0].scatter(scores, y - scores, s=4, alpha=0.4)
        axes[0].axhline(0, color="grey")
        axes[0].set(title="Residuals", xlabel="prediction", ylabel="actual - prediction")
        axes[1].hist(y - scores, bins=40)
        axes[1].set(title="Residual distribution")
        save(fig, "performance.png")

    features = prepare_features(config, sample)
    scoring = "roc_auc" if config.task == "classification" else "neg_root_mean_squared_error"
    result = permutation_importance(model, features, y, n_repeats=3, random_state=0, scoring=scoring, n_jobs=1)
    order = np.argsort(result.importances_mean)
    fig, ax = plt.subplots(figsize=(7, max(3, 0.3 * len(order))))
    ax.barh(np.array(config.features.all)[order], result.importances_mean[order], xerr=result.importances_std[order])
    ax.set(title=f"Permutation importance ({scoring})", xlabel="score drop")
    save(fig, "feature_importance.png")
    return out


def _table(rows: list[list[Any]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _known_limits(config: ModelConfig) -> str:
    """What the model does not know, as the config scores it (row policies, task)."""
    scoring = config.scoring
    handled = {RowPolicy.FLAG: "scored and published with a flag (`flags` column)", RowPolicy.QUARANTINE: "quarantined"}
    lines = ["Trained on the window above only; performance outside that population is unmeasured."]
    if config.task == "classification":
        lines.append("Scores are thresholded at 0.5 for labels; rank by score for other operating points.")
    else:
        lines.append("Predictions beyond the range the hold-out covered are extrapolations of the estimator.")
    lines.append(f"Inputs far outside the training ranges are {handled[scoring.out_of_range]} at scoring.")
    lines.append(f"Categories unseen in training are {handled[scoring.unseen_category]} at scoring.")
    return "\n".join(f"- {line}" for line in lines)


def render_markdown(config: ModelConfig, facts: dict[str, Any], images: list[str]) -> str:
    """The card as Markdown; ``facts`` is what the pipeline knows about the version."""
    metrics = facts.get("metrics", {})
    sections = [
        f"# Model card: {config.name} v{facts.get('version', '?')}",
        f"_Generated {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; stage: **{facts.get('stage', '?')}**_",
        "## Intended use",
        config.intended_use or config.description or "Not stated in the model config.",
        f"Owner: {config.owner}. Task: {config.task}, target `{config.target}`, one row per `{config.entity_id}`.",
        "## Training data",
        _table(
            [
                ["window", facts.get("window", "?")],
                ["rows", facts.get("rows", "?")],
                ["content hash (SHA-256)", facts.get("data_hash", "?")],
                ["positive rate", facts.get("positive_rate", "n/a")],
            ],
            ["", "value"],
        ),
        "## Features",
        _table(
            [[c, "numeric"] for c in config.features.numeric]
            + [[c, "categorical"] for c in config.features.categorical],
            ["feature", "kind"],
        ),
        "## Metrics (out-of-time hold-out)",
        _table([[k, v] for k, v in metrics.items()], ["metric", "value"]),
    ]
    if facts.get("slices"):
        metric = config.evaluation.primary_metric
        rows = [[k, int(v.get("rows", 0)), v.get(metric, float("nan"))] for k, v in facts["slices"].items()]
        sections += [f"### By {config.evaluation.slice_column}", _table(rows, ["slice", "rows", metric])]
    gates = facts.get("gates") or {}
    if gates:
        rows = [["PASS" if r["passed"] else "FAIL", r["name"], r["detail"]] for r in gates.get("results", [])]
        sections += ["## Validation gates", _table(rows, ["verdict", "gate", "detail"])]
    if facts.get("shadow"):
        sections += ["## Shadow evidence", _table(evidence_rows(facts["shadow"]), ["evidence", "value"])]
    if facts.get("drift_baseline"):
        sections += ["## Drift baseline", facts["drift_baseline"]]
    sections += [
        "## Known limits",
        _known_limits(config),
        "## Lineage",
        _table(
            [
                ["MLflow run", facts.get("run_id", "?")],
                ["code version", facts.get("code_version", "?")],
                ["trained by", facts.get("actor", "?")],
                ["estimator", config.estimator.class_path],
            ],
            ["", "value"],
        ),
        "## Promotion history",
        _table(
            [[h.get("at"), h.get("from"), h.get("to"), h.get("by"), h.get("reason")] for h in facts.get("history", [])],
            ["when", "from", "to", "by", "reason"],
        ),
        "## Plots",
        *[f"![{name}]({name})" for name in images],
    ]
    return "\n\n".join(sections) + "\n"


def evidence_rows(evidence: Any, prefix: str = "") -> list[list[Any]]:
    """The evidence of a move as (name, value) rows: nested mappings flattened to dotted names,
    a list of criteria one row each (``criteria.<name>``: verdict and detail)."""
    if not isinstance(evidence, dict):
        return [[prefix or "evidence", evidence]]
    rows: list[list[Any]] = []
    for key, value in evidence.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            rows += evidence_rows(value, name)
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
            for item in value:
                verdict = {True: "PASS", False: "FAIL"}.get(item.get("passed"), "")
                rows.append([f"{name}.{item['name']}", f"{verdict} {item.get('detail', '')}".strip()])
        elif isinstance(value, list):
            rows.append([name, ", ".join(str(v) for v in value)])
        else:
            rows.append([name, value])
    return rows


def parse_evidence(text: str) -> Any:
    """The evidence tag's JSON; the registry caps a tag's length, so a cut-off one is kept as text."""
    try:
        return json.loads(text)
    except ValueError:
        return {"evidence (cut off at the tag's length limit)": text}


CARD_STYLE = """
body { font-family: system-ui, sans-serif; line-height: 1.45; max-width: 960px; margin: 2em auto;
       padding: 0 1em; color: #1f2328; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; max-width: 100%; table-layout: auto; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; word-break: break-word; }
th { background: #f6f8fa; }
code { background: #f6f8fa; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; }
h1 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
"""


def render_html(markdown_text: str, images: dict[str, bytes]) -> str:
    """Self-contained HTML of the card's Markdown (markdown-it-py, CommonMark with tables; raw
    HTML in the text is escaped), images inlined, laid out to fit the window's width."""
    from markdown_it import MarkdownIt

    for name, data in images.items():
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        markdown_text = markdown_text.replace(f"![{name}]({name})", f"![{name}]({uri})")
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)
    heading = next((line.lstrip("# ").strip() for line in markdown_text.splitlines() if line.startswith("# ")), "")
    title = html.escape(heading or "Model card")
    head = (
        "<head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><style>{CARD_STYLE}</style></head>"
    )
    return f"<!doctype html><html lang='en'>{head}<body>{body}</body></html>"


def publish_card(registry: Any, config: ModelConfig, version: str | int) -> dict[str, str]:
    """Render the card of ``version`` from what MLflow holds and log it with its training run.

    Reads the run's artifacts (pull stats, evaluation, gates, plots) and the version's tags
    (stage, lineage, history), so it can be re-rendered after any move.
    """
    import tempfile
    from pathlib import Path

    version = str(version)
    mv = registry.get(config.name, version)
    run = registry.client.get_run(mv.run_id)

    def artifact(path: str) -> Any:
        try:
            return Path(registry.download_artifact(mv.run_id, path))
        except Exception:
            return None

    def load_json(path: str) -> Any:
        local = artifact(path)
        return json.loads(local.read_text(encoding="utf-8")) if local else {}

    pulled = load_json(Artifact.PULL_STATS)
    evaluated = load_json(Artifact.EVALUATION)
    facts = {
        "version": version,
        "stage": mv.tags.get(Tag.STAGE),
        "window": mv.tags.get(Tag.WINDOW),
        "rows": pulled.get("rows"),
        "data_hash": pulled.get("data_hash"),
        "positive_rate": pulled.get("positive_rate"),
        "metrics": evaluated.get("metrics", {}),
        "slices": evaluated.get("slices", {}),
        "gates": load_json(Artifact.GATES),
        "run_id": mv.run_id,
        "code_version": run.data.tags.get(Tag.CODE_VERSION),
        "actor": run.data.tags.get(Tag.ACTOR),
        "history": json.loads(mv.tags.get(Tag.HISTORY, "[]")),
        "shadow": parse_evidence(mv.tags[evidence_tag(CHAMPION)]) if evidence_tag(CHAMPION) in mv.tags else None,
    }
    images = {}
    for name in ("performance.png", "feature_importance.png"):
        local = artifact(f"model_card/{name}")
        if local:
            images[name] = local.read_bytes()
    markdown_text = render_markdown(config, facts, list(images))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "model_card.md").write_text(markdown_text, encoding="utf-8")
        (Path(tmp) / "model_card.html").write_text(render_html(markdown_text, images), encoding="utf-8")
        registry.client.log_artifacts(mv.run_id, tmp, "model_card")
    return {
        "markdown": f"runs:/{mv.run_id}/model_card/model_card.md",
        "html": f"runs:/{mv.run_id}/model_card/model_card.html",
    }
