"""Prometheus metrics, per GraphQL operation and per HTTP request (never per field).

With several workers, `serve` points PROMETHEUS_MULTIPROC_DIR at a folder and /metrics
aggregates every worker's numbers from there."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

GRAPHQL_OPERATIONS = Counter(
    "graphql_operations_total",
    "GraphQL operations executed",
    ["operation", "type", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "graphql_operation_duration_seconds",
    "Time to execute a GraphQL operation",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["path", "status"])


def observe_operation(name: str, kind: str, outcome: str, seconds: float) -> None:
    GRAPHQL_OPERATIONS.labels(name, kind, outcome).inc()
    GRAPHQL_DURATION.labels(name, kind).observe(seconds)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
