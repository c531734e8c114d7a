"""Secret operations: create or update from the stack, read by name or ARN.

A secret keeps one version, its current one (stage ``AWSCURRENT``); a new value gets a new
version id. Values go into the state store and come back out through :meth:`Secrets.get_value`
only: nothing here logs them or puts them in an error message.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from s3batch.clock import Clock
from s3batch.secrets import store
from s3batch.secrets.errors import (
    InvalidParameterException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from s3batch.secrets.models import (
    CURRENT_STAGE,
    Secret,
    SecretValue,
    arn_prefix,
    check_name,
    new_arn,
)
from s3batch.state.db import Database

logger = logging.getLogger(__name__)

#: Largest secret value AWS accepts, in bytes.
MAX_SECRET_BYTES = 65536


class Secrets:
    """Secrets Manager's secrets, stored in the state database."""

    def __init__(self, db: Database, clock: Clock, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id

    def ensure(
        self,
        name: str,
        secret_string: str,
        description: str | None = None,
        version_id: str | None = None,
    ) -> Secret:
        """Create a secret, or give it ``secret_string`` as a new version when the value differs.

        A ``description`` of None leaves an existing description as it is; ``version_id``
        (a ClientRequestToken) names the new version, else a UUID does.

        Raises:
            InvalidParameterException: the name is not valid or the value is too long.
        """
        check_name(name)
        if len(secret_string.encode()) > MAX_SECRET_BYTES:
            raise InvalidParameterException(
                f"The SecretString of {name} is longer than {MAX_SECRET_BYTES} bytes."
            )
        with self.db.transaction() as conn:
            current = store.get_value(conn, name)
            secret = self._next(current, name, secret_string, description, version_id)
            if current is None or secret != current.secret:
                store.upsert(conn, secret, secret_string)
        if current is None:
            logger.info("created secret %s", name, extra={"action": "create_secret"})
        elif secret.version_id != current.secret.version_id:
            logger.info("new version of secret %s", name, extra={"action": "update_secret"})
        return secret

    def create(
        self,
        name: str,
        secret_string: str,
        description: str | None = None,
        version_id: str | None = None,
    ) -> Secret:
        """CreateSecret: a new secret with its first version (``version_id``: the request's
        ClientRequestToken, which AWS makes the version's id).

        Raises:
            ResourceExistsException: a secret of that name exists.
            InvalidParameterException: the name is not valid or the value is too long.
        """
        with self.db.transaction() as conn:
            if store.get(conn, name=name) is not None:
                raise ResourceExistsException(
                    f"The operation failed because the secret {name} already exists."
                )
            return self.ensure(name, secret_string, description, version_id)

    def _next(
        self,
        current: SecretValue | None,
        name: str,
        value: str,
        description: str | None,
        version_id: str | None,
    ) -> Secret:
        now = self.clock.now()
        version_id = version_id or str(uuid.uuid4())
        if current is None:
            arn = new_arn(self.region, self.account_id, name)
            return Secret(name, arn, description, now, now, version_id, now)
        secret = current.secret
        if description is not None and description != secret.description:
            secret = replace(secret, description=description, changed_at=now)
        if value != current.secret_string:
            secret = replace(secret, version_id=version_id, version_created_at=now)
            secret = replace(secret, changed_at=now)
        return secret

    def get_value(
        self, secret_id: str, version_id: str | None = None, version_stage: str | None = None
    ) -> SecretValue:
        """A secret and its value, by name, full ARN or partial ARN (without the suffix).

        Raises:
            ResourceNotFoundException: no such secret, or no such version of it.
        """
        found = store.get_value(self.db.conn, self._name_of(secret_id))
        if found is None:
            raise ResourceNotFoundException()
        if version_id is not None and version_id != found.secret.version_id:
            raise ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret value for VersionId: {version_id}"
            )
        if version_stage is not None and version_stage != CURRENT_STAGE:
            raise ResourceNotFoundException(
                "Secrets Manager can't find the specified secret value for staging label: "
                f"{version_stage}"
            )
        return found

    def describe(self, secret_id: str) -> Secret:
        """A secret (never its value) by name or ARN. Raises ResourceNotFoundException."""
        secret = store.get(self.db.conn, name=self._name_of(secret_id))
        if secret is None:
            raise ResourceNotFoundException()
        return secret

    def update(
        self,
        secret_id: str,
        secret_string: str | None,
        description: str | None = None,
        version_id: str | None = None,
    ) -> Secret:
        """PutSecretValue / UpdateSecret: a new current version when ``secret_string`` differs
        (``version_id``: the request's ClientRequestToken), and/or a new description.

        Raises:
            ResourceNotFoundException: no such secret.
            InvalidParameterException: the value is too long.
        """
        with self.db.transaction() as conn:
            current = store.get_value(conn, self._name_of(secret_id))
            if current is None:
                raise ResourceNotFoundException()
            value = current.secret_string if secret_string is None else secret_string
            return self.ensure(current.secret.name, value, description, version_id)

    def delete(self, secret_id: str) -> Secret:
        """DeleteSecret without a recovery window: the secret is gone at once.

        Raises:
            ResourceNotFoundException: no such secret.
        """
        with self.db.transaction() as conn:
            secret = store.get(conn, name=self._name_of(secret_id))
            if secret is None:
                raise ResourceNotFoundException()
            store.delete(conn, secret.name)
        logger.info("deleted secret %s", secret.name, extra={"action": "delete_secret"})
        return secret

    def list_secrets(self) -> list[Secret]:
        """Every secret, by name, without values."""
        return store.list_all(self.db.conn)

    def _name_of(self, secret_id: str) -> str:
        """The name ``secret_id`` designates. Raises ResourceNotFoundException."""
        if not secret_id.startswith("arn:"):
            return secret_id
        by_arn = store.get(self.db.conn, arn=secret_id)
        if by_arn is not None:
            return by_arn.name
        prefix = arn_prefix(self.region, self.account_id)
        if secret_id.startswith(prefix) and len(secret_id) > len(prefix):
            return secret_id[len(prefix) :]  # a partial ARN: the name without the suffix
        raise ResourceNotFoundException()
