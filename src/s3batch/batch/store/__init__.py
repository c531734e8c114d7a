"""SQL for the batch domain: the only place that knows its tables.

:mod:`.resources` holds compute environments, queues and definitions, :mod:`.jobs` jobs
and their events (with the guarded status :func:`transition`), :mod:`.tags` resource tags.
"""

from __future__ import annotations

from s3batch.batch.store.jobs import (
    any_in,
    dependency_statuses,
    events,
    get_job,
    insert_job,
    job_by_key,
    list_jobs,
    page_jobs,
    queue_head,
    request_stop,
    stop_requests,
    transition,
    used_vcpus,
)
from s3batch.batch.store.resources import (
    delete_compute_environment,
    delete_job_queue,
    get_compute_environment,
    get_job_definition,
    get_job_queue,
    insert_compute_environment,
    insert_job_definition,
    insert_job_queue,
    latest_active_definition,
    list_compute_environments,
    list_job_definitions,
    list_job_queues,
    next_revision,
    queues_using,
    set_definition_status,
    update_compute_environment,
    update_job_queue,
)
from s3batch.batch.store.tags import drop_tags, get_tags, remove_tags, set_tags

__all__ = [
    "any_in",
    "delete_compute_environment",
    "delete_job_queue",
    "dependency_statuses",
    "drop_tags",
    "events",
    "get_compute_environment",
    "get_job",
    "get_job_definition",
    "get_job_queue",
    "get_tags",
    "insert_compute_environment",
    "insert_job",
    "insert_job_definition",
    "insert_job_queue",
    "job_by_key",
    "latest_active_definition",
    "list_compute_environments",
    "list_job_definitions",
    "list_job_queues",
    "list_jobs",
    "next_revision",
    "page_jobs",
    "queue_head",
    "queues_using",
    "remove_tags",
    "request_stop",
    "set_definition_status",
    "set_tags",
    "stop_requests",
    "transition",
    "update_compute_environment",
    "update_job_queue",
    "used_vcpus",
]
