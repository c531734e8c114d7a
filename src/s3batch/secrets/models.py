"""Secrets Manager entities: frozen values, with storage kept in :mod:`.store`.

A :class:`Secret` describes a secret and never holds its value; the value travels only in
a :class:`SecretValue`, whose ``repr`` hides it, so logging either is safe.
"""

from __future__ import annotations

import re
import secrets as _random
import string
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from s3batch.secrets.errors import InvalidParameterException

#: The only version stage s3batch keeps: each secret stores its current version.
CURRENT_STAGE = "AWSCURRENT"
#: Secret names: 1 to 512 of these characters (as AWS allows).
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_SUFFIX_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Secret:
    """A secret's description and current version, without its value."""

    name: str
    arn: str
    description: str | None
    created_at: datetime
    changed_at: datetime
    version_id: str
    version_created_at: datetime


class SecretValue(NamedTuple):
    """A secret with its current value (``secret, value = ...`` unpacks it)."""

    secret: Secret
    secret_string: str

    def __repr__(self) -> str:
        return f"SecretValue(secret={self.secret!r}, secret_string='***')"

    def __str__(self) -> str:
        return self.__repr__()


def check_name(name: str) -> None:
    """Raises InvalidParameterException when ``name`` is not a valid secret name."""
    if not _NAME.fullmatch(name):
        raise InvalidParameterException(
            "Invalid name. Must be a valid name containing alphanumeric characters, "
            "or any of the following: -/_+=.@!"
        )


def arn_prefix(region: str, account_id: str) -> str:
    """Everything before the name in the ARN of a secret of this region and account."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:"


def new_arn(region: str, account_id: str, name: str) -> str:
    """A new secret's ARN: the name plus a hyphen and six random characters, as AWS makes it."""
    suffix = "".join(_random.choice(_SUFFIX_ALPHABET) for _ in range(6))
    return f"{arn_prefix(region, account_id)}{name}-{suffix}"
