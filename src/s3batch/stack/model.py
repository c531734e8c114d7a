"""Read and validate a stack file. Errors name the file, the field and what is wrong.

Each resource is written as the body of the AWS call that creates it (``Bucket`` for
CreateBucket), with s3batch's own additions in camelCase (``EventBridgeEnabled``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from s3batch.credentials import Credentials
from s3batch.errors import ConfigError

_TOP_LEVEL = ("buckets", "credentials")


@dataclass(frozen=True)
class BucketSpec:
    """A bucket the stack declares."""

    name: str
    eventbridge_enabled: bool = False


@dataclass(frozen=True)
class Stack:
    """Everything a stack file declares."""

    buckets: list[BucketSpec] = field(default_factory=list)
    credentials: list[Credentials] = field(default_factory=list)


def _items(doc: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    items = doc.get(name) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{where}: '{name}' must be a list of mappings")
    return items


def _text(item: dict[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{name}' is required and must be a non-empty string")
    return value


def _bucket(item: dict[str, Any], where: str) -> BucketSpec:
    unknown = set(item) - {"Bucket", "EventBridgeEnabled"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    enabled = item.get("EventBridgeEnabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.EventBridgeEnabled: must be true or false")
    return BucketSpec(_text(item, "Bucket", where), enabled)


def parse(doc: object, source: str) -> Stack:
    """Validate a parsed stack document."""
    if doc is None:
        return Stack()
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: a stack file must be a mapping at the top level")
    unknown = set(doc) - set(_TOP_LEVEL)
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(_TOP_LEVEL)}"
        )
    buckets = [
        _bucket(b, f"{source}: buckets[{i}]") for i, b in enumerate(_items(doc, "buckets", source))
    ]
    creds = [
        Credentials(
            _text(c, "AccessKeyId", f"{source}: credentials[{i}]"),
            _text(c, "SecretAccessKey", f"{source}: credentials[{i}]"),
        )
        for i, c in enumerate(_items(doc, "credentials", source))
    ]
    return Stack(buckets, creds)


def load(path: Path) -> Stack:
    """Read a stack file. Raises ConfigError naming the problem."""
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read stack file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse(doc, str(path))
