"""Secrets Manager over JSON 1.1 (``X-Amz-Target: secretsmanager.<Operation>``).

GetSecretValue is the one operation that returns a value; DescribeSecret and ListSecrets
describe secrets without theirs. Secrets come from the stack file, or from CreateSecret
(a SecretString; SecretBinary is refused, as AWS Batch jobs cannot use one either);
PutSecretValue and UpdateSecret give one a new current version, DeleteSecret removes one
at once (ForceDeleteWithoutRecovery). Only the current version is kept (AWSCURRENT).
"""

from __future__ import annotations

import base64
import binascii
import logging

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.jsonproto import JsonObject, JsonProtocol, epoch, optional, required
from s3batch.errors import InvalidRequest
from s3batch.secrets import InvalidParameterException, Secret, Secrets
from s3batch.secrets.models import CURRENT_STAGE

logger = logging.getLogger(__name__)

#: The X-Amz-Target prefix of Secrets Manager operations.
TARGET_PREFIX = "secretsmanager"
#: ListSecrets page size when the request names none, and the largest allowed.
DEFAULT_PAGE, MAX_PAGE = 100, 100


class InvalidNextTokenException(InvalidRequest):
    """The NextToken value is invalid."""

    code = "InvalidNextTokenException"


def _description(secret: Secret) -> JsonObject:
    out: JsonObject = {"ARN": secret.arn, "Name": secret.name}
    if secret.description is not None:
        out["Description"] = secret.description
    out["LastChangedDate"] = epoch(secret.changed_at)
    out["CreatedDate"] = epoch(secret.created_at)
    return out


class SecretsManagerProtocol:
    """The Secrets Manager API: register it in ``ApiApp.protocols["secretsmanager"]``."""

    def __init__(self, secrets: Secrets, auth: Authenticator) -> None:
        self.secrets = secrets
        handlers = {
            "CreateSecret": self.create_secret,
            "GetSecretValue": self.get_secret_value,
            "DescribeSecret": self.describe_secret,
            "ListSecrets": self.list_secrets,
            "PutSecretValue": self.put_secret_value,
            "UpdateSecret": self.update_secret,
            "DeleteSecret": self.delete_secret,
        }
        self.protocol = JsonProtocol(TARGET_PREFIX, handlers, auth, sensitive=True)

    async def __call__(self, request: Request) -> Response:
        """Answer one Secrets Manager request."""
        return await self.protocol(request)

    def create_secret(self, params: JsonObject) -> JsonObject:
        """CreateSecret: a new secret from a SecretString."""
        _string_only(params)
        secret = self.secrets.create(
            required(params, "Name", str),
            required(params, "SecretString", str),
            optional(params, "Description", str),
            _token(params),
        )
        return _version_reply(secret)

    def put_secret_value(self, params: JsonObject) -> JsonObject:
        """PutSecretValue: a new current version (the value unchanged: the current one)."""
        _string_only(params)
        secret = self.secrets.update(
            required(params, "SecretId", str),
            required(params, "SecretString", str),
            version_id=_token(params),
        )
        return {**_version_reply(secret), "VersionStages": [CURRENT_STAGE]}

    def update_secret(self, params: JsonObject) -> JsonObject:
        """UpdateSecret: a new description and/or value (KMS keys are not kept here)."""
        _string_only(params)
        if params.get("KmsKeyId") is not None:
            raise InvalidParameterException("s3batch's secrets are not encrypted with KMS keys.")
        secret = self.secrets.update(
            required(params, "SecretId", str),
            optional(params, "SecretString", str),
            optional(params, "Description", str),
            _token(params),
        )
        return _version_reply(secret)

    def delete_secret(self, params: JsonObject) -> JsonObject:
        """DeleteSecret with ForceDeleteWithoutRecovery (recovery windows are refused)."""
        if optional(params, "ForceDeleteWithoutRecovery", bool) is not True:
            raise InvalidParameterException(
                "s3batch deletes a secret at once: pass ForceDeleteWithoutRecovery=true"
                " (recovery windows and RestoreSecret are not supported yet)."
            )
        if params.get("RecoveryWindowInDays") is not None:
            raise InvalidParameterException(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
            )
        secret = self.secrets.delete(required(params, "SecretId", str))
        return {
            "ARN": secret.arn,
            "Name": secret.name,
            "DeletionDate": epoch(self.secrets.clock.now()),
        }

    def get_secret_value(self, params: JsonObject) -> JsonObject:
        """GetSecretValue: the current value of a secret."""
        secret, value = self.secrets.get_value(
            required(params, "SecretId", str),
            optional(params, "VersionId", str),
            optional(params, "VersionStage", str),
        )
        return {
            "ARN": secret.arn,
            "Name": secret.name,
            "VersionId": secret.version_id,
            "SecretString": value,
            "VersionStages": [CURRENT_STAGE],
            "CreatedDate": epoch(secret.version_created_at),
        }

    def describe_secret(self, params: JsonObject) -> JsonObject:
        """DescribeSecret: a secret's details and versions, never its value."""
        secret = self.secrets.describe(required(params, "SecretId", str))
        return {**_description(secret), "VersionIdsToStages": {secret.version_id: [CURRENT_STAGE]}}

    def list_secrets(self, params: JsonObject) -> JsonObject:
        """ListSecrets: every secret by name, in pages, never with values."""
        if params.get("Filters"):
            raise InvalidParameterException("s3batch's ListSecrets does not support Filters yet.")
        limit = optional(params, "MaxResults", int) or DEFAULT_PAGE
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidParameterException(f"MaxResults must be between 1 and {MAX_PAGE}.")
        after = _decode_token(optional(params, "NextToken", str))
        remaining = [s for s in self.secrets.list_secrets() if after is None or s.name > after]
        page = remaining[:limit]
        out: JsonObject = {
            "SecretList": [
                {**_description(s), "SecretVersionsToStages": {s.version_id: [CURRENT_STAGE]}}
                for s in page
            ]
        }
        if len(remaining) > limit:
            out["NextToken"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
        return out


def _version_reply(secret: Secret) -> JsonObject:
    """What CreateSecret, PutSecretValue and UpdateSecret answer: the secret and its new version."""
    return {"ARN": secret.arn, "Name": secret.name, "VersionId": secret.version_id}


def _token(params: JsonObject) -> str | None:
    """``ClientRequestToken`` (32-64 characters): the new version's id, as AWS makes it."""
    token = optional(params, "ClientRequestToken", str)
    if token is not None and not 32 <= len(token) <= 64:
        raise InvalidParameterException("ClientRequestToken must be 32 to 64 characters.")
    return token


def _string_only(params: JsonObject) -> None:
    if params.get("SecretBinary") is not None:
        raise InvalidParameterException("s3batch's secrets hold a SecretString only.")


def _decode_token(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        after = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidNextTokenException() from exc
    if not after:
        raise InvalidNextTokenException()
    return after
