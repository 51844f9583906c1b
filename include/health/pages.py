"""The view's HTML pages, rendered on the server (plots are inline SVG, ``charts``): the model
list and one model's page. Every value is escaped. Links are absolute from ``base`` (where the
view is mounted, e.g. ``/mlops-health``) and ``airflow`` (the Airflow UI's root); links into
Airflow open in the whole window (``target="_top"``: the view lives in the UI's iframe); reports
(drift report, model card: whole HTML documents) and MLflow open in a new tab.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from include.health.charts import all_charts
from include.health.links import actor_run
from include.health.payloads import (
    DEGRADED,
    DRIFTING,
    HEALTHY,
    NO_CHAMPION,
    DagRunInfo,
    ModelHealth,
    ModelSummary,
    MonitorPoint,
    VersionInfo,
)

STATUS_COLORS = {HEALTHY: "#15803d", DRIFTING: "#b45309", DEGRADED: "#b91c1c", NO_CHAMPION: "#4b5563"}
DASH = "\u2013"  # an empty cell
MONITOR_ROWS = 14  # monitored days in the table (the plots show all that were read)
CSS = """
body { font-family: system-ui, sans-serif; margin: 16px 24px; color: #111827; background: #fff; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 24px 0 8px; } h3 { font-size: 15px; }
a { color: #1d4ed8; } .muted { color: #6b7280; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600; }
.stage { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #e5e7eb; font-size: 12px; }
.stage-champion { background: #bbf7d0; } .stage-shadow { background: #bfdbfe; } .stage-rejected { background: #fecaca; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; table-layout: auto; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 5px 8px; text-align: left; vertical-align: top; }
td { overflow-wrap: break-word; } .badge, .stage, td.day { white-space: nowrap; }
th { background: #f9fafb; font-weight: 600; white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 12px; }
.charts figure { margin: 0; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; }
.problems { background: #fef2f2; border: 1px solid #fecaca; padding: 8px 12px; border-radius: 6px; }
.reason { margin: 6px 0 0; }
table.moves td:nth-child(-n+2) { white-space: nowrap; }
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body>\n{body}\n</body></html>"
    )


def _badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#4b5563")
    return f'<span class="badge status" style="background:{color}">{escape(status)}</span>'


def _stage(stage: str | None) -> str:
    name = stage or "unknown"
    return f'<span class="stage stage-{escape(name)}">{escape(name)}</span>'


def _link(url: str | None, text: str, top: bool = True) -> str:
    if not url:
        return escape(text)
    target = ' target="_top"' if top else ' target="_blank" rel="noopener"'
    return f'<a href="{escape(url)}"{target}>{escape(text)}</a>'


def _fmt(value: float | None, pattern: str = "{:.3f}") -> str:
    return pattern.format(value) if value is not None else DASH


def model_list_page(models: list[ModelSummary], base: str, problems: list[str] | None = None) -> str:
    """Every model with its status and why."""
    rows = "".join(
        f'<tr><td><a href="{escape(base)}/models/{quote(m.model)}">{escape(m.model)}</a>'
        f'<div class="muted">{escape(m.description)}</div></td>'
        f"<td>{_badge(m.status.status)}</td><td>{escape(m.status.reason)}</td>"
        f"<td>{escape('v' + m.champion) if m.champion else DASH}</td>"
        f"<td>{escape(m.last_monitored or DASH)}</td><td>{escape(m.last_scored or DASH)}</td></tr>"
        for m in models
    )
    table = (
        "<table><thead><tr><th>Model</th><th>Status</th><th>Why</th><th>Champion</th>"
        f"<th>Last monitored</th><th>Last scored</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return _page("Model health", f"<h1>Model health</h1>{_problems(problems or [])}{table}")


def _problems(problems: list[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{escape(p)}</li>" for p in problems)
    return f'<div class="problems"><strong>Could not read everything:</strong><ul>{items}</ul></div>'


def _header(health: ModelHealth, base: str) -> str:
    champion = f"champion v{health.champion}" if health.champion else "no champion"
    challenger = f", challenger v{health.challenger}" if health.challenger else ""
    return (
        f'<p><a href="{escape(base)}/">&larr; All models</a></p>'
        f"<h1>{escape(health.model)} {_badge(health.status.status)}</h1>"
        f'<p class="muted">{escape(health.description)}</p>'
        f'<p class="reason"><strong>{escape(champion + challenger)}</strong> &middot; '
        f"{escape(health.status.reason)}</p>"
    )


def _charts(health: ModelHealth) -> str:
    figures = "".join(f'<figure id="chart-{name}">{svg}</figure>' for name, svg in all_charts(health))
    return f'<h2>Over time</h2><div class="charts">{figures}</div>'


def _monitor_row(point: MonitorPoint, model_url: str) -> str:
    top = ", ".join(
        f"{c.column} ({c.stattest} {c.score:.3g}{' drifted' if c.drifted else ''})" for c in point.top_drifting
    )
    version = escape("v" + point.champion_version) if point.champion_version else DASH
    live = f"{_fmt(point.live_metric)} / {_fmt(point.holdout_metric)}" if point.metric else DASH
    report = (
        _link(f"{model_url}/drift/{quote(point.ds)}", "drift report", top=False)
        if point.drift_share is not None
        else DASH
    )
    return (
        f"<tr><td class='day'>{escape(point.ds)}</td><td>{version}</td>"
        f"<td>{_fmt(point.drift_share, '{:.0%}')}</td><td>{escape(top) or DASH}</td>"
        f"<td>{_fmt(point.prediction_drift_score, '{:.3g}')}</td><td>{live}</td>"
        f"<td>{escape(point.decision)}</td><td>{report}</td></tr>"
    )


def _monitor_table(health: ModelHealth, model_url: str) -> str:
    if not health.monitor:
        return "<h2>Monitored days</h2><p class='muted'>No monitor run yet.</p>"
    metric = next((p.metric for p in reversed(health.monitor) if p.metric), "metric")
    rows = "".join(_monitor_row(p, model_url) for p in reversed(health.monitor[-MONITOR_ROWS:]))
    return (
        "<h2>Monitored days</h2><table id='monitored-days'><thead><tr><th>Day</th><th>Champion</th>"
        f"<th>Drift share</th><th>Top drifting columns</th><th>Prediction drift</th>"
        f"<th>Live / hold-out {escape(metric)}</th><th>Decision</th><th>Report</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _when(iso: str | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` of an ISO 8601 time (UTC)."""
    return escape(iso[:19].replace("T", " ")) if iso else DASH


def _who(actor: str, airflow: str) -> str:
    found = actor_run(actor)
    if found is None:
        return escape(actor or DASH)
    dag_id, run_id = found
    return _link(f"{airflow}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}", f"{dag_id} / {run_id}")


def _version_block(version: VersionInfo, model_url: str, airflow: str) -> str:
    moves = "".join(
        f"<tr><td>{_when(m.created_at)}</td>"
        f"<td>{_stage(m.from_stage) if m.from_stage else DASH} &rarr; {_stage(m.to_stage)}</td>"
        f"<td>{escape(m.status)}</td><td>{_who(m.actor, airflow)}</td><td>{escape(m.reason)}</td></tr>"
        for m in version.moves
    )
    links = [
        _link(f"{model_url}/versions/{quote(version.version)}/card", "model card", top=False) if version.run_id else "",
        _link(version.mlflow_url, "in MLflow", top=False) if version.mlflow_url else "",
    ]
    created = f" registered {_when(version.created_at)}" if version.created_at else ""
    table = (
        "<table class='moves'><thead><tr><th>When (UTC)</th><th>Move</th><th>Status</th><th>Who</th>"
        f"<th>Why</th></tr></thead><tbody>{moves}</tbody></table>"
        if moves
        else "<p class='muted'>No move in the audit trail.</p>"
    )
    return (
        f"<h3 id='version-{escape(version.version)}'>v{escape(version.version)} {_stage(version.stage)}"
        f"<span class='muted'>{created}</span> {' · '.join(link for link in links if link)}</h3>{table}"
    )


def _runs(runs: dict[str, list[DagRunInfo]]) -> str:
    blocks = []
    for dag_id, dag_runs in runs.items():
        if not dag_runs:
            blocks.append(f"<tr><td>{escape(dag_id)}</td><td colspan='5' class='muted'>no run yet</td></tr>")
            continue
        for run in dag_runs:
            blocks.append(
                f"<tr><td>{escape(dag_id)}</td><td>{_link(run.airflow_url, run.run_id)}</td>"
                f"<td>{escape(run.state or DASH)}</td><td>{_when(run.start_date)}</td><td>{_when(run.end_date)}</td>"
                f"<td>{_link(run.mlflow_url, 'MLflow run', top=False) if run.mlflow_url else DASH}</td></tr>"
            )
    return (
        "<h2>Latest DAG runs</h2><table id='dag-runs'><thead><tr><th>DAG</th><th>Run</th><th>State</th>"
        "<th>Started (UTC)</th><th>Ended (UTC)</th><th>MLflow</th></tr></thead>"
        f"<tbody>{''.join(blocks)}</tbody></table>"
    )


def model_page(health: ModelHealth, base: str, airflow: str) -> str:
    """One model: status, plots, monitored days, versions with their stage timeline, DAG runs."""
    model_url = f"{base}/models/{quote(health.model)}"
    versions = "".join(_version_block(v, model_url, airflow) for v in health.versions) or (
        "<p class='muted'>No version registered yet.</p>"
    )
    body = (
        _header(health, base)
        + _problems(health.problems)
        + _charts(health)
        + _monitor_table(health, model_url)
        + f"<h2>Versions and stage timeline</h2>{versions}"
        + _runs(health.runs)
    )
    return _page(f"Model health: {health.model}", body)


def message_page(title: str, message: str, base: str) -> str:
    """A page that says what is missing (an unknown model, a report not written)."""
    back = f'<p><a href="{escape(base)}/">&larr; All models</a></p>'
    return _page(title, f"{back}<h1>{escape(title)}</h1><p>{escape(message)}</p>")
