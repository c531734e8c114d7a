"""Trails and their event selectors (frozen)."""

from __future__ import annotations

from dataclasses import dataclass

from s3batch.types import Json


@dataclass(frozen=True)
class DataResource:
    """``{Type: AWS::S3::Object, Values: [arn:aws:s3:::bucket/prefix, ...]}``."""

    type: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class EventSelector:
    """One basic event selector of a trail."""

    read_write_type: str = "All"
    include_management_events: bool = True
    data_resources: tuple[DataResource, ...] = ()


@dataclass(frozen=True)
class Trail:
    """A trail: a name, an ARN and what it selects."""

    name: str
    arn: str
    selectors: tuple[EventSelector, ...]

    @classmethod
    def from_request(cls, request: Json, arn: str) -> Trail:
        """Build from a CreateTrail request plus its ``EventSelectors`` (PutEventSelectors)."""
        selectors = tuple(
            EventSelector(
                s.get("ReadWriteType", "All"),
                bool(s.get("IncludeManagementEvents", True)),
                tuple(
                    DataResource(d["Type"], tuple(d.get("Values", [])))
                    for d in s.get("DataResources", [])
                ),
            )
            for s in request.get("EventSelectors", [])
        )
        return cls(request["Name"], arn, selectors)

    def to_request(self) -> Json:
        """The CreateTrail + PutEventSelectors request this trail was built from."""
        return {
            "Name": self.name,
            "EventSelectors": [
                {
                    "ReadWriteType": s.read_write_type,
                    "IncludeManagementEvents": s.include_management_events,
                    "DataResources": [
                        {"Type": d.type, "Values": list(d.values)} for d in s.data_resources
                    ],
                }
                for s in self.selectors
            ],
        }
