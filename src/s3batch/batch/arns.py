"""Batch ARNs: ``arn:aws:batch:<region>:<account>:<kind>/<name>`` (pure)."""

from __future__ import annotations

from dataclasses import dataclass

#: The resource kinds this package names.
COMPUTE_ENVIRONMENT = "compute-environment"
JOB_QUEUE = "job-queue"
JOB_DEFINITION = "job-definition"
JOB = "job"


@dataclass(frozen=True)
class ArnBuilder:
    """Builds the ARNs of one region and account."""

    region: str
    account_id: str

    def build(self, kind: str, name: str) -> str:
        """The ARN of a resource of ``kind`` named ``name``."""
        return f"arn:aws:batch:{self.region}:{self.account_id}:{kind}/{name}"

    def owns(self, reference: str) -> bool:
        """Whether ``reference`` is a name, or an ARN of this region and account."""
        return not reference.startswith("arn:") or reference.startswith(
            f"arn:aws:batch:{self.region}:{self.account_id}:"
        )


def resource_name(reference: str, kind: str) -> str:
    """The name part of ``reference`` when it is an ARN of ``kind``, else ``reference`` itself."""
    if not reference.startswith("arn:"):
        return reference
    parts = reference.split(":", 5)
    if len(parts) == 6 and parts[2] == "batch" and parts[5].startswith(kind + "/"):
        return parts[5][len(kind) + 1 :]
    return reference
