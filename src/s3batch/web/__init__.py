"""The web dashboard: jobs, queues, compute environments, logs, events and objects as pages."""

from __future__ import annotations
