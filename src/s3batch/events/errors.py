"""EventBridge errors: invalid event patterns and invalid target input, each with its AWS code."""

from __future__ import annotations

from s3batch.errors import InvalidRequest


class InvalidEventPatternException(InvalidRequest):
    """The event pattern is not valid."""

    code = "InvalidEventPatternException"

    def __init__(self, reason: str, *, where: str = "") -> None:
        #: What is wrong, in event-ruler's words where it has them.
        self.reason = reason
        #: Where in the pattern, as a JSON path (``$.detail.state[0]``); empty for the whole pattern.
        self.where = where
        at = f" (at {where})" if where else ""
        super().__init__(f"Event pattern is not valid. Reason: {reason}{at}")


class ValidationException(InvalidRequest):
    """The input fails to satisfy the constraints specified by an AWS service."""

    code = "ValidationException"


class InvalidTargetInput(ValidationException):
    """The target's Input, InputPath or InputTransformer is not valid."""


class TargetInputError(ValidationException):
    """The input for the target could not be rendered (for example, the template did not yield valid JSON)."""
