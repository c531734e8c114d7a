"""AWS Batch on one machine: definitions, queues, compute environments, jobs and their processes."""
