"""CloudTrail: trails select object-level data events; selected calls become CloudTrail records."""
