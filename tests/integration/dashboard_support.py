"""What the dashboard's browser tests share: the server's stack, headless chromium, a tab that
records dialogs and Content-Security-Policy violations, screenshots, and waiting.

The fixtures ``browser``, ``seen`` and ``page`` are registered by ``conftest.py``; each test
module defines its own module-scoped ``server``. Every test's tab fails at teardown when the
browser reported a CSP violation while the test ran. Playwright is imported by the fixtures
and the browser test modules only, so other tests run without it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from s3batch.cli.child import ChildServer
from s3batch.stack.model import default_text

#: Debian's chromium, installed by .ci/run (never `playwright install`).
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where screenshots go: docs/ when S3BATCH_SCREENSHOTS=1 (to refresh the README's pictures);
#: otherwise a temp dir, so a test run leaves the work tree clean.
DOCS = (
    Path(__file__).resolve().parents[2] / "docs"
    if os.environ.get("S3BATCH_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "s3batch-screenshots"
)
BUCKET = "s3-eventbridge-batch"
UI = "/_s3batch/ui"
PERSONS = b"1,ada@example.com,CA,90210,1 Main St\n2,bob@example.com,NY,10001,2 Side St\n"
#: How long a tab's actions and ``expect`` assertions wait (Playwright's ``expect`` would
#: give up after 5 s: less than a live region's refresh plus a job's run on a busy machine).
WAIT_MS = 30_000
#: Wide and narrow viewports every page must be usable at.
WIDE, NARROW = {"width": 1280, "height": 800}, {"width": 390, "height": 844}

skip_without_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)"
)


def dashboard_stack() -> dict[str, Any]:
    """The default stack plus a queue whose only compute environment is DISABLED (jobs wait
    there) and a definition ``secretive`` with a password in its environment and one from a secret."""
    stack = yaml.safe_load(default_text())
    held = dict(stack["computeEnvironments"][0], computeEnvironmentName="held", state="DISABLED")
    stack["computeEnvironments"].append(held)
    secretive = json.loads(json.dumps(stack["jobDefinitions"][0]))
    secretive["jobDefinitionName"] = "secretive"
    secretive["containerProperties"]["environment"] = [
        {"name": "DB_PASSWORD", "value": "hunter2-do-not-show"},
        {"name": "TABLE", "value": "persons"},
    ]
    secretive["containerProperties"]["secrets"] = [
        {"name": "PGPASS", "valueFrom": "RDS-credentials"}
    ]
    stack["jobDefinitions"].append(secretive)
    stack["jobQueues"].append(
        {
            "jobQueueName": "held",
            "state": "ENABLED",
            "priority": 1,
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "held"}],
        }
    )
    return stack


def start_server(root: Path, stack: dict[str, Any]) -> ChildServer:
    """``s3batch up`` with ``stack`` in a fresh data dir under ``root`` (embedded databases take a while)."""
    path = root / "stack.yaml"
    path.write_text(yaml.safe_dump(stack, sort_keys=False))
    srv = ChildServer(root / "data", extra_args=("--stack", str(path)))
    srv.start(timeout=120)
    return srv


@dataclass
class Seen:
    """What the browser showed besides the page: confirm() questions and CSP violations."""

    dialogs: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def dialog(self, dialog: Any) -> None:
        """Answer yes, and remember the question."""
        self.dialogs.append(dialog.message)
        dialog.accept()

    def console(self, message: Any) -> None:
        """Remember every console message about the Content-Security-Policy."""
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    sync_api.expect.set_options(timeout=WAIT_MS)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def seen() -> Seen:
    """The dialogs and CSP reports of the test's tab."""
    return Seen()


@pytest.fixture
def page(browser: Any, server: ChildServer, seen: Seen) -> Iterator[Any]:
    """A fresh 1280×800 tab that accepts confirm() dialogs; fails if the browser reports a CSP violation."""
    context = browser.new_context(viewport=WIDE, base_url=server.endpoint)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.on("dialog", seen.dialog)
    tab.on("console", seen.console)
    yield tab
    context.close()
    assert seen.csp_violations == [], "the page broke its Content-Security-Policy"


def client(server: ChildServer, service: str) -> Any:
    """A boto3 client of the server."""
    return boto3.client(service, **server.client_kwargs())  # type: ignore[call-overload]


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot (into docs/ when asked to)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / name), full_page=True)


def succeeded(server: ChildServer, count: int, timeout: float = 60) -> None:
    """Wait until the tutorial queue has ``count`` SUCCEEDED jobs (else fail, listing its jobs)."""
    batch = client(server, "batch")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = batch.list_jobs(jobQueue="update-RDS-data-from-S3", jobStatus="SUCCEEDED")
        if len(jobs["jobSummaryList"]) == count:
            return
        time.sleep(0.2)
    every = batch.list_jobs(
        jobQueue="update-RDS-data-from-S3", filters=[{"name": "AFTER_CREATED_AT", "values": ["0"]}]
    )
    summary = [(j["jobName"], j["status"], j.get("statusReason")) for j in every["jobSummaryList"]]
    raise AssertionError(f"not {count} SUCCEEDED jobs in {timeout} s: {summary}")
