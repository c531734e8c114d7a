"""A job definition's ``secrets``: Secrets Manager values put in a job's environment at launch.

Each secret is ``(name, valueFrom)``. ``valueFrom`` is a secret's name, its ARN (full, with
the random suffix, or partial), or ECS's
``arn:aws:secretsmanager:<region>:<account>:secret:<name>:<json-key>:<version-stage>:<version-id>``
(the json key picks one field of a JSON SecretString; empty parts mean "not given"). A value
is fetched when the attempt starts and lives only in that process's environment: it is never
stored, logged or put in a reason. A secret that does not resolve fails the start as AWS
Fargate's ``ResourceInitializationError`` does, naming the ``valueFrom``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from s3batch.batch.errors import ResourceInitializationError
from s3batch.batch.models import Pair
from s3batch.errors import S3BatchError

#: Colon-separated parts of a secret's ARN, and of ECS's form with the three optional parts.
ARN_PARTS, KEYED_ARN_PARTS = 7, 10
SECRET_ARN = "arn:aws:secretsmanager:"
SSM_ARN = "arn:aws:ssm:"
#: How AWS Fargate's reason begins when a task's secrets cannot be fetched.
PULL_FAILED = "ResourceInitializationError: unable to pull secrets or registry auth: "


@dataclass(frozen=True)
class SecretRef:
    """What a ``valueFrom`` designates: a secret (name or ARN), optionally one JSON field and version."""

    secret_id: str
    json_key: str | None = None
    version_stage: str | None = None
    version_id: str | None = None


def parse(value_from: str) -> SecretRef:
    """The secret ``value_from`` designates.

    Raises:
        ValueError: it is empty, an SSM parameter, or not a Secrets Manager ARN of 7 or 10 parts.
    """
    if not value_from:
        raise ValueError("valueFrom is required")
    if value_from.startswith(SSM_ARN):
        raise ValueError(
            f"valueFrom {value_from} is a Systems Manager parameter: s3batch has no Parameter"
            " Store, use a Secrets Manager secret"
        )
    if not value_from.startswith("arn:"):
        if ":" in value_from:
            raise ValueError(f"valueFrom {value_from} is neither a secret name nor a secret ARN")
        return SecretRef(value_from)
    parts = value_from.split(":")
    if not value_from.startswith(SECRET_ARN) or len(parts) not in (ARN_PARTS, KEYED_ARN_PARTS):
        raise ValueError(
            f"valueFrom {value_from} must be arn:aws:secretsmanager:region:account:secret:name,"
            " optionally followed by :json-key:version-stage:version-id"
        )
    if parts[5] != "secret" or not parts[6]:
        raise ValueError(f"valueFrom {value_from} does not name a secret")
    key, stage, version = parts[ARN_PARTS:] or ["", "", ""]
    return SecretRef(":".join(parts[:ARN_PARTS]), key or None, stage or None, version or None)


class StoredSecret(Protocol):
    """A fetched secret (Secrets Manager's value fits)."""

    @property
    def secret_string(self) -> str:
        """The secret's value."""
        ...


class SecretSource(Protocol):
    """Where secrets are fetched from (``s3batch.secrets.Secrets`` fits; nothing is imported from it)."""

    def get_value(
        self, secret_id: str, version_id: str | None = None, version_stage: str | None = None
    ) -> StoredSecret:
        """The secret's value. Raises an S3BatchError (not found) whose message holds no value."""
        ...


def resolve(secrets: Iterable[Pair], source: SecretSource | None) -> dict[str, str]:
    """Each secret's name → its value, fetched now.

    Raises:
        ResourceInitializationError: a secret is missing, or lacks its JSON key (named by valueFrom).
    """
    return {name: _value(value_from, source) for name, value_from in secrets}


def _value(value_from: str, source: SecretSource | None) -> str:
    ref = parse(value_from)
    if source is None:
        raise _failed(f"failed to fetch secret {value_from}: no Secrets Manager here")
    try:
        text = source.get_value(ref.secret_id, ref.version_id, ref.version_stage).secret_string
    except S3BatchError as exc:
        raise _failed(
            f"failed to fetch secret {value_from} from secrets manager: {exc.code}: {exc.message}"
        ) from None
    if ref.json_key is None:
        return text
    try:
        fields = json.loads(text)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise _failed(
            f"retrieved secret {value_from} from Secrets Manager is not a JSON object,"
            f" so it has no json key {ref.json_key}"
        )
    if ref.json_key not in fields:
        raise _failed(
            f"retrieved secret {value_from} from Secrets Manager did not contain json key"
            f" {ref.json_key}"
        )
    found = fields[ref.json_key]
    return found if isinstance(found, str) else json.dumps(found)


def _failed(detail: str) -> ResourceInitializationError:
    return ResourceInitializationError(
        f"{PULL_FAILED}execution resource retrieval failed: unable to retrieve secret from asm: {detail}"
    )
