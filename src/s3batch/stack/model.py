"""Read and validate a stack file. Errors name the file, the resource and the field.

Each resource is written as the request of the AWS call that creates it (``Bucket`` for
CreateBucket, a RegisterJobDefinition request for a job definition, ...) and is checked
against botocore's model of that call (:mod:`.shapes`). s3batch's own additions
(``EventBridgeEnabled``, ``embedded``, ``tables``, ``credentials``) are checked here.
Secret values may come from the environment: ``${env:NAME}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from s3batch.credentials import Credentials
from s3batch.errors import ConfigError
from s3batch.loader.tables import TableDef, parse_table
from s3batch.stack.shapes import check

Doc = dict[str, Any]

#: Sections a stack file may have.
SECTIONS = (
    "buckets",
    "credentials",
    "trails",
    "secrets",
    "computeEnvironments",
    "jobQueues",
    "jobDefinitions",
    "rules",
    "tables",
)
#: Local database engines ``up`` can start for a secret.
EMBEDDED_ENGINES = ("postgres", "duckdb")
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class BucketSpec:
    """A bucket the stack declares."""

    name: str
    eventbridge_enabled: bool = False


@dataclass(frozen=True)
class SecretSpec:
    """A secret: a literal value, or a local database that ``up`` starts (``embedded``)."""

    name: str
    secret_string: str | None = field(default=None, repr=False)
    embedded: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Stack:
    """Everything a stack file declares, as validated AWS requests."""

    buckets: list[BucketSpec] = field(default_factory=list)
    credentials: list[Credentials] = field(default_factory=list)
    trails: list[Doc] = field(default_factory=list)
    secrets: list[SecretSpec] = field(default_factory=list)
    compute_environments: list[Doc] = field(default_factory=list)
    job_queues: list[Doc] = field(default_factory=list)
    job_definitions: list[Doc] = field(default_factory=list)
    rules: list[Doc] = field(default_factory=list)
    tables: list[TableDef] = field(default_factory=list)
    #: The tables section as written (handed to loader jobs).
    tables_doc: list[Doc] = field(default_factory=list)


def _items(doc: Doc, name: str, where: str) -> list[Doc]:
    items = doc.get(name) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{where}: '{name}' must be a list of mappings")
    return items


def _text(item: Doc, name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{name}' is required and must be a non-empty string")
    return value


def _only(item: Doc, allowed: set[str], where: str) -> None:
    unknown = set(item) - allowed
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}"
        )


def _bucket(item: Doc, where: str) -> BucketSpec:
    _only(item, {"Bucket", "EventBridgeEnabled"}, where)
    enabled = item.get("EventBridgeEnabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.EventBridgeEnabled: must be true or false")
    return BucketSpec(_text(item, "Bucket", where), enabled)


def _credentials(item: Doc, where: str) -> Credentials:
    _only(item, {"AccessKeyId", "SecretAccessKey"}, where)
    return Credentials(_text(item, "AccessKeyId", where), _text(item, "SecretAccessKey", where))


def _expand_env(value: str, environ: Mapping[str, str], where: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return environ[name]

    return _ENV_REF.sub(sub, value)


def _secret(item: Doc, where: str, environ: Mapping[str, str]) -> SecretSpec:
    embedded = item.get("embedded")
    request = {k: v for k, v in item.items() if k != "embedded"}
    check("secretsmanager", "CreateSecret", request, where)
    if embedded is not None and embedded not in EMBEDDED_ENGINES:
        raise ConfigError(
            f"{where}.embedded: must be one of {', '.join(EMBEDDED_ENGINES)}, not {embedded!r}"
        )
    value = item.get("SecretString")
    if (embedded is None) == (value is None):
        raise ConfigError(f"{where}: give exactly one of SecretString and embedded")
    if value is not None:
        value = _expand_env(value, environ, f"{where}.SecretString")
    return SecretSpec(item["Name"], value, embedded, item.get("Description"))


def _trail(item: Doc, where: str) -> Doc:
    selectors = item.get("EventSelectors", [])
    check(
        "cloudtrail", "CreateTrail", {k: v for k, v in item.items() if k != "EventSelectors"}, where
    )
    check("cloudtrail", "PutEventSelectors", {"EventSelectors": selectors}, where)
    return item


def _rule(item: Doc, where: str) -> Doc:
    if "EventPattern" not in item and "ScheduleExpression" not in item:
        raise ConfigError(f"{where}: 'EventPattern' or 'ScheduleExpression' is required")
    rule = dict(item)
    if isinstance(
        rule.get("EventPattern"), dict
    ):  # YAML may spell the pattern out; AWS takes JSON text
        rule["EventPattern"] = json.dumps(rule["EventPattern"])
    check("events", "PutRule", {k: v for k, v in rule.items() if k != "Targets"}, where)
    check("events", "PutTargets", {"Targets": rule.get("Targets", [])}, where)
    return rule


def _checked(doc: Doc, section: str, operation: tuple[str, str], source: str) -> list[Doc]:
    service, name = operation
    items = _items(doc, section, source)
    for i, item in enumerate(items):
        check(service, name, item, f"{source}: {section}[{i}]")
    return items


def parse(doc: object, source: str, environ: Mapping[str, str]) -> Stack:
    """Validate a parsed stack document. Raises ConfigError naming the problem."""
    if doc is None:
        return Stack()
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: a stack file must be a mapping at the top level")
    unknown = set(doc) - set(SECTIONS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}"
        )

    def each(section: str) -> list[tuple[Doc, str]]:
        return [
            (item, f"{source}: {section}[{i}]")
            for i, item in enumerate(_items(doc, section, source))
        ]

    tables_doc = _items(doc, "tables", source)
    tables = []
    for item, where in each("tables"):
        try:
            tables.append(parse_table(item, where))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return Stack(
        buckets=[_bucket(item, where) for item, where in each("buckets")],
        credentials=[_credentials(item, where) for item, where in each("credentials")],
        trails=[_trail(item, where) for item, where in each("trails")],
        secrets=[_secret(item, where, environ) for item, where in each("secrets")],
        compute_environments=_checked(
            doc, "computeEnvironments", ("batch", "CreateComputeEnvironment"), source
        ),
        job_queues=_checked(doc, "jobQueues", ("batch", "CreateJobQueue"), source),
        job_definitions=_checked(doc, "jobDefinitions", ("batch", "RegisterJobDefinition"), source),
        rules=[_rule(item, where) for item, where in each("rules")],
        tables=tables,
        tables_doc=tables_doc,
    )


def read_text(text: str, source: str, environ: Mapping[str, str]) -> Stack:
    """Parse stack YAML text."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    return parse(doc, source, environ)


def load(path: Path, environ: Mapping[str, str]) -> Stack:
    """Read a stack file. Raises ConfigError naming the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read stack file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return read_text(text, str(path), environ)


def default_text() -> str:
    """The default stack: the tutorial's pipeline, as YAML."""
    return resources.files("s3batch.stack").joinpath("default.yaml").read_text()


def default(environ: Mapping[str, str]) -> Stack:
    """The default stack, parsed."""
    return read_text(default_text(), "default stack", environ)
