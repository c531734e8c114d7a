"""Retry policy of a target: how often and how long a failing delivery is retried (pure).

As EventBridge does: retriable failures are retried with exponential backoff and jitter
until ``MaximumRetryAttempts`` retries were made or the event is older than
``MaximumEventAgeInSeconds`` (defaults 185 and 24 h), whichever comes first; then the
event goes to the target's dead-letter queue, if it has one, or is dropped.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from s3batch.events.errors import ValidationException

#: Defaults and bounds of RetryPolicy (AWS's).
DEFAULT_ATTEMPTS, MAX_ATTEMPTS = 185, 185
DEFAULT_AGE, MIN_AGE, MAX_AGE = 86_400, 60, 86_400
#: The first retry waits about this long (seconds); each further one doubles it, up to the cap.
BASE_DELAY, MAX_DELAY = 1.0, 300.0

#: Values of the EXHAUSTED_RETRY_CONDITION attribute.
BY_ATTEMPTS, BY_AGE = "MaximumRetryAttempts", "MaximumEventAgeInSeconds"


@dataclass(frozen=True)
class RetryPolicy:
    """A target's RetryPolicy."""

    max_attempts: int = DEFAULT_ATTEMPTS
    max_age: int = DEFAULT_AGE

    @classmethod
    def of(cls, target: Mapping[str, Any]) -> RetryPolicy:
        """The policy a target declares (AWS's defaults for what it leaves out).

        Raises:
            ValidationException: a value is out of AWS's range.
        """
        given = target.get("RetryPolicy") or {}
        attempts = given.get("MaximumRetryAttempts", DEFAULT_ATTEMPTS)
        age = given.get("MaximumEventAgeInSeconds", DEFAULT_AGE)
        where = f"target {target.get('Id', '')}"
        _check(attempts, 0, MAX_ATTEMPTS, f"RetryPolicy.MaximumRetryAttempts of {where}")
        _check(age, MIN_AGE, MAX_AGE, f"RetryPolicy.MaximumEventAgeInSeconds of {where}")
        return cls(attempts, age)

    def exhausted(self, retries_made: int, age_seconds: float) -> str | None:
        """Why no further retry may be made (a BY_* condition), or None."""
        if retries_made >= self.max_attempts:
            return BY_ATTEMPTS
        if age_seconds >= self.max_age:
            return BY_AGE
        return None


def _check(value: Any, low: int, high: int, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationException(f"{what} must be an integer between {low} and {high}.")


def backoff(retry_number: int, rng: random.Random) -> float:
    """Seconds to wait before retry ``retry_number`` (1-based): exponential, capped, half jittered."""
    ceiling: float = min(MAX_DELAY, BASE_DELAY * float(2 ** min(retry_number - 1, 30)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
