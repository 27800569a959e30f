"""Prometheus metrics for one webhook server, in a registry of its own.

No global registry: two servers in one process (tests, a benchmark) never see
each other's counters, and nothing is registered at import time.

* ``switchboard_webhook_requests_total{outcome}``: every callback, by what
  became of it (``OUTCOMES``);
* ``switchboard_webhook_handling_seconds``: how long answering a callback took;
* ``switchboard_media_requests_total{outcome}``: MMS file fetches, served or
  refused (``MEDIA_OUTCOMES``);
* ``switchboard_http_refused_total{reason}``: requests refused before any
  route took them (``HTTP_REFUSALS``): not HTTP, or no such path or method;
* ``switchboard_delivery_reports_applied_total``: messages whose status a
  delivery report changed, through the webhook server and (when a worker is
  given) the worker's own polling;
* read from the database at scrape time: the outbox depth
  (``switchboard_outbox_messages{status="queued"|"sending"}``), how overdue the
  most overdue queued message is (``switchboard_outbox_oldest_queued_age_seconds``),
  whether this process holds the worker lease
  (``switchboard_worker_lease_held``) and whether any process does
  (``switchboard_worker_lease_taken``);
* when a worker is given, its counters since this process started
  (``switchboard_messages_sent_total`` and the others in ``WORKER_COUNTERS``).

The database is asynchronous and a collector is not, so ``render`` reads the
database first and the collector reports that snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from core.clock import Clock, to_ms
from core.db import Database
from core.delivery import outbox
from core.scheduling import lease
from core.scheduling.worker import Worker

OUTCOMES = (
    "stored",
    "duplicate",
    "ignored",
    "unknown_type",
    "refused_signature",
    "refused_replay",
    "bad_request",
    "too_large",
    "timeout",
    "client_gone",
    "error",
)
"""What became of a callback. ``ignored``: acknowledged, not stored, and
retrying would not help (an MO to a number that is not ours or from an
unusable sender, a binary SMS). ``timeout``: the body did not arrive in time;
``client_gone``: the client hung up before its body was read."""

MEDIA_OUTCOMES = ("served", "refused", "error")
HTTP_REFUSALS = ("malformed", "no_route")
"""``malformed``: not HTTP that can be read (a request line or header over the
limit, a bad method, broken framing); ``no_route``: no such path, or not that method."""

HANDLING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

WORKER_COUNTERS = (
    ("sent", "switchboard_messages_sent", "Messages the provider accepted."),
    ("retried", "switchboard_messages_retried", "Sends that failed for now and were queued again."),
    ("failed", "switchboard_messages_failed", "Messages that failed for good."),
    ("job_errors", "switchboard_worker_job_errors", "Worker jobs that raised."),
)
"""(WorkerStats field, metric name without _total, help)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    queued: int
    sending: int
    oldest_queued_age_seconds: float
    lease_held: bool
    lease_taken: bool


class DatabaseCollector(Collector):
    """Reports the last snapshot taken with ``refresh``, and the worker's counters."""

    def __init__(self, db: Database, clock: Clock, worker: Worker | None = None) -> None:
        self.db = db
        self.clock = clock
        self.worker = worker
        self.snapshot: Snapshot | None = None
        self.reports_applied_here = 0
        """Messages changed by delivery reports this server took (the worker counts its own)."""

    async def refresh(self) -> Snapshot:
        depths = await outbox.depths(self.db)
        holder = await lease.current(self.db)
        oldest = depths.oldest_queued_at
        age = 0.0 if oldest is None else max(0.0, (to_ms(self.clock.now()) - oldest) / 1000)
        held = (
            self.worker is not None
            and self.worker.active
            and holder is not None
            and holder.holder == self.worker.holder
        )
        self.snapshot = Snapshot(depths.queued, depths.sending, age, held, holder is not None)
        return self.snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        if snap is not None:
            depth = GaugeMetricFamily(
                "switchboard_outbox_messages",
                "Outbound messages waiting to be sent (queued) or being handed over (sending).",
                labels=["status"],
            )
            depth.add_metric(["queued"], snap.queued)
            depth.add_metric(["sending"], snap.sending)
            yield depth
            yield GaugeMetricFamily(
                "switchboard_outbox_oldest_queued_age_seconds",
                "How long the most overdue queued message has been due (0 when none is).",
                value=snap.oldest_queued_age_seconds,
            )
            yield GaugeMetricFamily(
                "switchboard_worker_lease_held",
                "1 when this process holds the worker lease (it sends).",
                value=int(snap.lease_held),
            )
            yield GaugeMetricFamily(
                "switchboard_worker_lease_taken",
                "1 when some process holds the worker lease; 0 means nothing is sending.",
                value=int(snap.lease_taken),
            )
        applied = self.reports_applied_here
        if self.worker is not None:
            stats = self.worker.stats
            applied += stats.reports_applied
            for field, name, documentation in WORKER_COUNTERS:
                yield CounterMetricFamily(name, documentation, value=getattr(stats, field))
        yield CounterMetricFamily(
            "switchboard_delivery_reports_applied",
            "Messages whose status a delivery report changed (callbacks and polling).",
            value=applied,
        )


class WebhookMetrics:
    """The metrics of one webhook server: ``observe`` each callback, ``render`` on a scrape."""

    def __init__(self, db: Database, *, clock: Clock | None = None, worker: Worker | None = None):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "switchboard_webhook_requests",
            "Provider callbacks received, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        # Every outcome shows, at 0, from the start; each callback counts on its child
        # directly (``labels`` takes a lock and builds a key on every call).
        self._requests_by_outcome = {outcome: self.requests.labels(outcome) for outcome in OUTCOMES}
        self.handling = Histogram(
            "switchboard_webhook_handling_seconds",
            "Seconds from receiving a callback to answering it.",
            buckets=HANDLING_BUCKETS,
            registry=self.registry,
        )
        self.media = Counter(
            "switchboard_media_requests",
            "MMS file fetches (GET /media/...), by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in MEDIA_OUTCOMES:
            self.media.labels(outcome)
        self.refused = Counter(
            "switchboard_http_refused",
            "Requests refused before any route took them, by reason.",
            ["reason"],
            registry=self.registry,
        )
        for reason in HTTP_REFUSALS:
            self.refused.labels(reason)
        self.database = DatabaseCollector(db, clock or db.clock, worker)
        self.registry.register(self.database)

    def observe(self, outcome: str, seconds: float) -> None:
        counter = self._requests_by_outcome.get(outcome)
        if counter is None:
            raise ValueError(f"unknown webhook outcome {outcome!r}; known: {', '.join(OUTCOMES)}")
        counter.inc()
        self.handling.observe(seconds)

    def observe_media(self, outcome: str) -> None:
        if outcome not in MEDIA_OUTCOMES:
            raise ValueError(f"unknown media outcome {outcome!r}; known: {MEDIA_OUTCOMES}")
        self.media.labels(outcome).inc()

    def observe_refused(self, reason: str) -> None:
        if reason not in HTTP_REFUSALS:
            raise ValueError(f"unknown refusal {reason!r}; known: {HTTP_REFUSALS}")
        self.refused.labels(reason).inc()

    def reports_applied(self, changed: int) -> None:
        self.database.reports_applied_here += changed

    def count(self, outcome: str) -> float:
        """How many callbacks had ``outcome`` (for tests and the benchmark)."""
        return self.sample("switchboard_webhook_requests_total", outcome=outcome)

    def sample(self, name: str, **labels: str) -> float:
        """The current value of one sample, 0 when absent (for tests)."""
        return self.registry.get_sample_value(name, labels) or 0.0

    async def render(self, accept: str = "") -> tuple[bytes, str]:
        """(exposition body, its Content-Type), in the format the scraper's Accept asks for."""
        await self.database.refresh()
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
