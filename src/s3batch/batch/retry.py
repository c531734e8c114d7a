"""Whether a failed attempt is retried: attempts left and ``evaluateOnExit`` rules (pure).

Rules are checked in order and the first whose given patterns all match decides; when
none matches the job is retried (reference/batch.md 3.4). Patterns match exactly, with a
trailing ``*`` as the only wildcard (prefix match), case-sensitively.
"""

from __future__ import annotations

from s3batch.batch.models import EvaluateOnExit, RetryStrategy


def glob_match(pattern: str | None, value: str | None) -> bool:
    """AWS's retry pattern: exact, or a prefix when it ends in ``*``; None matches anything."""
    if pattern is None:
        return True
    if value is None:
        return pattern == "*"
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _matches(
    rule: EvaluateOnExit, exit_code: int | None, reason: str | None, status_reason: str | None
) -> bool:
    code = None if exit_code is None else str(exit_code)
    return (
        glob_match(rule.on_exit_code, code)
        and glob_match(rule.on_reason, reason)
        and glob_match(rule.on_status_reason, status_reason)
    )


def should_retry(
    strategy: RetryStrategy,
    attempts_done: int,
    exit_code: int | None,
    reason: str | None,
    status_reason: str | None,
) -> bool:
    """Whether a job whose ``attempts_done``-th attempt just failed runs again."""
    if attempts_done >= strategy.attempts:
        return False
    for rule in strategy.evaluate_on_exit:
        if _matches(rule, exit_code, reason, status_reason):
            return rule.action == "RETRY"
    return True
