"""OpenMetrics text read as a scraper reads it: prometheus_client's parser (untyped)."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families


def families(text: str) -> dict[str, Metric]:
    """Metric families by name; raises ValueError for text that is not OpenMetrics."""
    parsed = text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
    return {family.name: family for family in parsed}


def gauge(text: str, name: str) -> dict[tuple[str, str], float]:
    """The samples of the gauge ``name`` by (repository, cohort)."""
    family = families(text)[name]
    if family.type != "gauge":
        raise ValueError(f"{name} is a {family.type}, not a gauge")
    return {(s.labels["repository"], s.labels["cohort"]): s.value for s in family.samples}
