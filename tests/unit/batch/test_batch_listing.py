"""Reading many jobs: SQL counts agree with the pages they count, and the listing filters."""

from __future__ import annotations

from batch_helpers import add_ce, add_definition, add_queue, submit

from s3batch.batch import store
from s3batch.batch.service import BatchService


def test_counts_agree_with_the_pages_they_count(service: BatchService) -> None:
    add_ce(service, "ce", 4)
    add_queue(service, "q", 1, "ce")
    add_queue(service, "r", 1, "ce")
    add_definition(service)
    add_definition(service, "loader", ["s3batch", "load", "--table=t"])
    parent = submit(service, name="Array-Job", arrayProperties={"size": 4})
    submit(service, "r", "loader", name="load-one")
    submit(service, name="other")
    assert service.job_counts() == {
        ("q", "SUBMITTED"): 2,
        ("q", "PENDING"): 4,
        ("r", "SUBMITTED"): 1,
    }
    wheres: list[dict[str, object]] = [
        {},
        {"with_children": True},
        {"queue": "q", "with_children": True},
        {"name_contains": "RAY-j", "with_children": True},
        {"statuses": ["PENDING"], "with_children": True},
        {"command_has": ['"load"', '"--table']},
        {"array_parent": parent.id},
    ]
    for where in wheres:
        every = service.newest_jobs(where, 100)
        assert service.count_jobs(where) == len(every)
        assert [seq for seq, _ in every] == sorted((seq for seq, _ in every), reverse=True)
        assert service.newest_jobs(where, 2, offset=1) == every[1:3]
    assert [j.name for _, j in service.newest_jobs({"command_has": ['"load"']}, 10)] == ["load-one"]
    assert service.count_jobs({"name_contains": "array"}) == 1  # the parent, not its children
    assert [j.array_index for j in service.array_children(parent)] == [0, 1, 2, 3]
    assert store.count_jobs(service.db.conn, {"with_children": True}) == 7
