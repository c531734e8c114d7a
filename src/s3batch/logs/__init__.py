"""CloudWatch Logs on one machine: log groups, streams and their events."""
