"""W2: a token bucket per sender number, weighted by segments.

Providers limit throughput per sender in message parts, not messages, so a
three-segment SMS costs three tokens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class SenderRateLimit:
    def __init__(self, segments_per_second: float) -> None:
        self.rate = segments_per_second
        self._buckets: dict[str, _Bucket] = {}

    def take(self, sender: str, segments: int, now: float) -> float:
        """Spend ``segments`` tokens for ``sender`` at time ``now`` (seconds).

        Returns 0 when the message may go now, else the seconds to wait. A
        message larger than one second's allowance may go once the bucket is
        full, so long messages are slowed, never starved.
        """
        capacity = max(self.rate, 1.0)
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = _Bucket(capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        needed = min(float(segments), capacity)
        if bucket.tokens >= needed:
            bucket.tokens -= segments
            return 0.0
        return (needed - bucket.tokens) / self.rate
