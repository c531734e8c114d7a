"""Event bus subcommands: ``events dead-letters``, ``replay``, ``put`` and ``test-pattern``.

They read and write the data dir's state directly, so they work whether or not the
server runs; a replayed dead letter is delivered by the server's next pipeline pass.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from s3batch.cli.datadir import data_dir_option, open_data_dir
from s3batch.events.service import test_event_pattern


@click.group()
def events() -> None:
    """Event bus: dead letters, replay, pattern tests."""


@events.command("dead-letters")
@data_dir_option
@click.option(
    "--all", "include_replayed", is_flag=True, help="Include dead letters already replayed."
)
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON lines (with the events).")
@click.option("--replay", "replay_all", is_flag=True, help="Replay every dead letter listed.")
def dead_letters(
    data_dir: Path | None, include_replayed: bool, as_json: bool, replay_all: bool
) -> None:
    """List events a target could not take (targets with a DeadLetterConfig)."""
    db, services = open_data_dir(data_dir)
    try:
        letters = services.bus.dead_letters(include_replayed)
        if replay_all:
            letters = [services.bus.replay(d.id) for d in letters if d.replayed_at is None]
    finally:
        db.close()
    if as_json:
        for letter in letters:
            click.echo(json.dumps(asdict(letter)))
        return
    click.echo(
        f"{'ID':<38}{'RULE':<20}{'TARGET':<14}{'ERROR':<22}{'EXHAUSTED':<26}{'RETRIES':<8}REPLAYED"
    )
    for d in letters:
        replayed = "now" if replay_all else d.replayed_at or "-"
        click.echo(
            f"{d.id:<38}{d.rule[:19]:<20}{d.target_id[:13]:<14}{d.error_code[:21]:<22}"
            f"{d.exhausted or '-':<26}{d.attempts:<8}{replayed}"
        )


@events.command("replay")
@data_dir_option
@click.argument("letter_id")
def replay(data_dir: Path | None, letter_id: str) -> None:
    """Deliver a dead letter again (to its rule's target, with a fresh retry budget)."""
    db, services = open_data_dir(data_dir)
    try:
        letter = services.bus.replay(letter_id)
    finally:
        db.close()
    click.echo(
        f"replaying {letter.id}: event {letter.event.get('id')} to {letter.rule}/{letter.target_id}"
    )


@events.command("test-pattern")
@click.option("--pattern", required=True, help="The event pattern (JSON).")
@click.option("--event", "event", required=True, help="The event (JSON).")
def test_pattern(pattern: str, event: str) -> None:
    """Does the pattern match the event? Prints true or false, or why the pattern is invalid."""
    click.echo("true" if test_event_pattern(pattern, event) else "false")


@events.command("put")
@data_dir_option
@click.option("--source", required=True, help="The event's source (e.g. my.app).")
@click.option("--detail-type", required=True, help="The event's detail-type.")
@click.option(
    "--detail", default="{}", show_default=True, help="The event's detail (a JSON object)."
)
@click.option("--bus", default=None, help="The event bus (name or ARN) [default: default].")
def put(data_dir: Path | None, source: str, detail_type: str, detail: str, bus: str | None) -> None:
    """Put one event on a bus, as PutEvents does; the server delivers it. Prints the event id."""
    db, services = open_data_dir(data_dir)
    try:
        entry = {"Source": source, "DetailType": detail_type, "Detail": detail, "EventBusName": bus}
        [result] = services.bus.put_events([entry])
    finally:
        db.close()
    if "ErrorCode" in result:
        raise click.ClickException(f"{result['ErrorCode']}: {result['ErrorMessage']}")
    click.echo(result["EventId"])
