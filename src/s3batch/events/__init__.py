"""The event bus: rules with compiled patterns, input transformers, and delivery to targets."""
