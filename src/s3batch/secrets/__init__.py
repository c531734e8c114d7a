"""Secrets Manager: named secret values with ARNs and versions; values are never logged."""

from __future__ import annotations

from s3batch.secrets.errors import InvalidParameterException, ResourceNotFoundException
from s3batch.secrets.models import Secret, SecretValue
from s3batch.secrets.service import Secrets

__all__ = [
    "InvalidParameterException",
    "ResourceNotFoundException",
    "Secret",
    "SecretValue",
    "Secrets",
]
