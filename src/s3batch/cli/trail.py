"""``trail lookup``: the CloudTrail records the trails logged, newest first (LookupEvents offline)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from s3batch.cli.datadir import data_dir_option, open_data_dir
from s3batch.trail.lookup import ATTRIBUTES, attribute_filter, summary


@click.group()
def trail() -> None:
    """CloudTrail: look up logged object calls."""


@trail.command("lookup")
@data_dir_option
@click.option(
    "--attribute", type=click.Choice(sorted(ATTRIBUTES)), default=None, help="Lookup attribute key."
)
@click.option("--value", default=None, help="Lookup attribute value (with --attribute).")
@click.option(
    "--start", type=click.DateTime(), default=None, help="Only calls at or after this time (UTC)."
)
@click.option(
    "--end", type=click.DateTime(), default=None, help="Only calls at or before this time (UTC)."
)
@click.option(
    "--max",
    "limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="Most calls to list.",
)
def lookup(
    data_dir: Path | None,
    attribute: str | None,
    value: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> None:
    """List logged calls (time, event name, resource, event id), newest first."""
    if (attribute is None) != (value is None):
        raise click.UsageError("--attribute and --value go together")
    attributes = [{"AttributeKey": attribute, "AttributeValue": value}] if attribute else []
    db, services = open_data_dir(data_dir)
    try:
        records, _ = services.trails.lookup(
            attribute_filter(attributes), _utc(start), _utc(end), limit
        )
    finally:
        db.close()
    click.echo(f"{'TIME':<22}{'EVENT':<26}{'EVENT ID':<38}RESOURCE")
    for record in records:
        s = summary(record)
        name = s["Resources"][-1]["ResourceName"] if s["Resources"] else "-"
        click.echo(
            f"{s['EventTime']:%Y-%m-%d %H:%M:%S}   {s['EventName']:<26}{s['EventId']:<38}{name}"
        )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment else None
