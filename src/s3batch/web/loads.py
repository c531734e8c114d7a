"""Loads page: per target and table, the ledger of what was loaded, and the recent load jobs.

The targets are the server's secrets that describe a database the loader knows (the ones
job definitions name with ``--target``); the ledger is read from each target itself
(:func:`s3batch.loader.history.read_history`, whose drivers load only when a target of
their engine is read). A target is shown by its secret's name and its label, which names
the database and host but never a user or password; one that cannot be read gets a message
and the others are still shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from s3batch.batch.models import Job
from s3batch.batch.service import BatchService
from s3batch.loader.connections import ENGINES, Target, parse_target
from s3batch.loader.errors import LoadConfigError, LoaderError
from s3batch.loader.history import read_history
from s3batch.loader.ledger import LedgerEntry
from s3batch.secrets.service import Secrets
from s3batch.web.render import Renderer

#: Newest ledger rows read from each target.
LEDGER_ROWS = 200
#: Seconds to wait for a DuckDB file that a running load holds, before saying so.
LOCK_WAIT = 2.0
#: Load jobs listed under the ledgers.
RECENT_JOBS = 50
#: Jobs read per query while looking for them.
SCAN = 100
#: What a load job's command holds as JSON text (``"load"`` and an argument starting
#: ``--table``), with array children: the coarse filter :func:`recent_loads` refines.
_LOAD_HINTS = {"command_has": ['"load"', '"--table'], "with_children": True}


@dataclass(frozen=True)
class Misconfigured:
    """A secret naming an engine the loader knows, that the loader cannot use: why (its
    message names fields, never values)."""

    secret_id: str
    error: str
    label: str = "misconfigured"


def load_targets(secrets: Secrets) -> list[Target | Misconfigured]:
    """The targets the server's secrets describe, by secret name (other secrets are skipped)."""
    found = (
        _target(s.name, secrets.get_value(s.name).secret_string) for s in secrets.list_secrets()
    )
    return [t for t in found if t is not None]


def _target(name: str, secret_string: str) -> Target | Misconfigured | None:
    """The target a secret describes; None when it is not JSON naming an engine the loader knows."""
    try:
        doc = json.loads(secret_string)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("engine") not in ENGINES:
        return None
    try:
        return parse_target(name, doc)
    except LoadConfigError as exc:
        return Misconfigured(name, str(exc))


@dataclass
class Ledger:
    """One target's ledger, by table (tables by name, rows newest first), or why it is unreadable."""

    target: Target | Misconfigured
    tables: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    error: str | None = None
    #: Whether older rows than those shown exist.
    truncated: bool = False


def read_ledger(target: Target) -> Ledger:
    """The ledger of one target, never raising: a failure becomes :attr:`Ledger.error`."""
    try:
        entries = read_history(target, limit=LEDGER_ROWS, lock_wait=LOCK_WAIT)
    except LoaderError as exc:
        return Ledger(target, error=str(exc))
    ledger = Ledger(target, truncated=len(entries) == LEDGER_ROWS)
    for entry in entries:
        ledger.tables.setdefault(entry.table, []).append(entry)
    ledger.tables = dict(sorted(ledger.tables.items()))
    return ledger


class LoadPages:
    """The Loads page."""

    def __init__(self, secrets: Secrets, batch: BatchService, render: Renderer) -> None:
        self.secrets = secrets
        self.batch = batch
        self.render = render

    def page(self, request: Request) -> Response:
        """Every target's ledger by table, then the recent load jobs (failed ones too)."""
        ledgers = [
            Ledger(t, error=t.error) if isinstance(t, Misconfigured) else read_ledger(t)
            for t in load_targets(self.secrets)
        ]
        return self.render.page(
            request, "loads.html", ledgers=ledgers, jobs=recent_loads(self.batch)
        )


def recent_loads(batch: BatchService) -> list[Job]:
    """The newest :data:`RECENT_JOBS` load jobs, newest first (array children too).

    SQL keeps the jobs whose command mentions both ``load`` and ``--table`` (a coarse
    filter: only the jobs it returns are read whole), :func:`_is_load` decides; pages of
    :data:`SCAN` follow one another until enough are found or the jobs run out.
    """
    found: list[Job] = []
    after: int | None = None
    while len(found) < RECENT_JOBS:
        page = batch.newest_jobs(_LOAD_HINTS, SCAN, after_seq=after)
        found += [job for _, job in page if _is_load(job)]
        if len(page) < SCAN:
            break
        after = page[-1][0]
    return found[:RECENT_JOBS]


def _is_load(job: Job) -> bool:
    command = job.container.command
    return "load" in command[:3] and any(c.startswith("--table") for c in command)
