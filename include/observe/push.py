"""Push one run's series to a Prometheus Pushgateway, as batch jobs do.

Grouping: one group per pipeline and model, ``job=mlops_<pipeline>`` and ``model=<model>``, pushed
with PUT (``prometheus_client.push_to_gateway``), which replaces the whole group. So:

* a rerun of a run replaces its numbers: nothing is ever counted twice, and series a rerun no
  longer has (a column gone from the config, the previous champion's ``version`` label after a
  promotion) disappear instead of lingering;
* the day (``ds``) is a value (``mlops_*_ds_timestamp_seconds``), not a grouping label. The
  Pushgateway keeps every group until it is deleted and Prometheus scrapes all of them every
  time: a group per day would grow without end and keep old days looking current. The history
  per day is Prometheus's own, one scrape after another; a backfill of an old day shows as that
  day's timestamp going back. This is what Prometheus's guidance for batch jobs says
  (https://prometheus.io/docs/practices/pushing/): the last run's numbers per job, its last
  success time, no instance-like labels.

Failures: the push comes after the run published its data (predictions, report, move). A
Pushgateway that does not answer (connection refused, timeout, HTTP 5xx) is a warning in the
task log, and the run succeeds: metrics are a view of the run, not part of it, and the next run
pushes again. A push that can never succeed (a malformed URL, HTTP 4xx: not a Pushgateway, or
the push rejected) raises ``MetricsConfigError`` saying what to fix, and is not retried.
"""

from __future__ import annotations

import logging
import urllib.error
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from include.errors import MetricsConfigError
from include.observe.families import Series

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0
URL_SETTINGS = "the Airflow connection pushgateway_default (host, port) or MLOPS_PUSHGATEWAY_URL"


def safe_url(url: str) -> str:
    """``url`` without credentials, for messages and logs."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def check_url(url: str) -> str:
    """The URL, checked: http(s), a host, a valid port. ``MetricsConfigError`` names the fix."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError on a port that is not a number or out of range
    except ValueError as error:
        raise MetricsConfigError(
            f"Pushgateway URL {safe_url(url)!r} is malformed ({error}): fix {URL_SETTINGS}"
        ) from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetricsConfigError(
            f"Pushgateway URL {safe_url(url)!r} needs http:// or https:// and a host "
            f"(e.g. http://pushgateway:9091): fix {URL_SETTINGS}"
        )
    return url


class _Collector:
    """The series as prometheus_client metric families (one per metric name)."""

    def __init__(self, series: Sequence[Series]) -> None:
        self.series = series

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        metrics = {s.metric.name: s.metric for s in self.series}
        for name, metric in metrics.items():
            samples = [s for s in self.series if s.metric.name == name]
            labels = sorted({label for s in samples for label in s.labels})
            kind = CounterMetricFamily if metric.kind == "counter" else GaugeMetricFamily
            family = kind(metric.family, metric.help, labels=labels)
            for s in samples:
                family.add_metric([s.labels.get(label, "") for label in labels], s.value)
            yield family


def registry_of(series: Sequence[Series]) -> Any:
    """A prometheus_client ``CollectorRegistry`` holding exactly ``series``."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(series))
    return registry


def exposition(series: Sequence[Series]) -> str:
    """The text format a scrape (or the Pushgateway) sees."""
    from prometheus_client import generate_latest

    return generate_latest(registry_of(series)).decode()


def _handler(auth: tuple[str, str] | None) -> Any:
    from prometheus_client.exposition import basic_auth_handler, default_handler

    if auth is None:
        return default_handler

    def handler(url: str, method: str, timeout: float | None, headers: list, data: bytes) -> Any:
        return basic_auth_handler(url, method, timeout, headers, data, auth[0], auth[1])

    return handler


def push(
    url: str,
    job: str,
    grouping: dict[str, str],
    series: Sequence[Series],
    *,
    auth: tuple[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> bool:
    """Replace the group ``job`` + ``grouping`` with ``series`` (HTTP PUT). True when pushed;
    False, with a warning, when the Pushgateway did not answer or failed (5xx)."""
    from prometheus_client import push_to_gateway

    where = safe_url(check_url(url))
    group = ", ".join(f"{k}={v}" for k, v in {"job": job, **grouping}.items())
    try:
        push_to_gateway(
            url, job=job, registry=registry_of(series), grouping_key=grouping, timeout=timeout, handler=_handler(auth)
        )
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace").strip()[:300]
        if 400 <= error.code < 500:
            raise MetricsConfigError(
                f"Pushgateway at {where} refused the push of {group} (HTTP {error.code}: {detail}): "
                f"is {URL_SETTINGS} the Pushgateway's address (and its login, if it asks for one)?"
            ) from error
        log.warning(
            "metrics not pushed: Pushgateway at %s answered HTTP %s (%s); the run's data is published",
            where,
            error.code,
            detail,
        )
        return False
    except OSError as error:  # URLError, connection refused, timeout, DNS
        reason = getattr(error, "reason", error)
        log.warning(
            "metrics not pushed: Pushgateway at %s did not answer (%s); the run's data is published", where, reason
        )
        return False
    log.info("metrics pushed to %s: %s series, group %s", where, len(series), group)
    return True
