"""The stack file: the resources a server starts with (YAML, AWS request shapes)."""
