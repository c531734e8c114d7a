"""Events page: recent events and what their targets did, dead letters, rules, pattern tests."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from s3batch.errors import S3BatchError
from s3batch.events import store as event_store
from s3batch.events.models import Delivery
from s3batch.runtime import Services
from s3batch.web.render import PREFIX, Renderer

#: How many recent events the page lists.
RECENT = 30
#: What the test-a-pattern form starts with: the tutorial rule's shape and a matching event.
SAMPLE_PATTERN = (
    '{"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"],\n'
    ' "detail": {"eventName": ["PutObject"]}}'
)
SAMPLE_EVENT = (
    '{"id": "1", "source": "aws.s3", "detail-type": "AWS API Call via CloudTrail",\n'
    ' "account": "000000000000", "region": "us-east-1", "time": "2026-01-01T00:00:00Z",\n'
    ' "resources": [], "detail": {"eventName": "PutObject",\n'
    ' "requestParameters": {"bucketName": "s3-eventbridge-batch", "key": "persons.csv"}}}'
)


class EventPages:
    """The event bus as pages."""

    def __init__(self, services: Services, render: Renderer) -> None:
        self.bus = services.bus
        self.render = render

    def _deliveries(self, event_id: str) -> list[Delivery]:
        # EventBus has no read method for deliveries yet: read them through its store.
        return event_store.deliveries(self.bus.db.conn, event_id)

    def page(self, request: Request, test: dict[str, object] | None = None) -> Response:
        """Recent events with matched rules and deliveries; dead letters; rules; the test form."""
        recent = [
            {"event": e, "matched": m, "deliveries": self._deliveries(str(e.get("id")))}
            for e, m in self.bus.recent_events(RECENT)
        ]
        test = test or {"pattern": SAMPLE_PATTERN, "event": SAMPLE_EVENT, "result": None}
        return self.render.page(
            request,
            "events.html",
            recent=recent,
            letters=self.bus.dead_letters(),
            rules=self.bus.rules(),
            test=test,
        )

    def test_pattern(self, request: Request) -> Response:
        """POST: does this pattern match this event? (TestEventPattern)."""
        form = request.state.form
        pattern, event = form.get("pattern", ""), form.get("event", "")
        try:
            result: object = self.bus.test_event_pattern(pattern, event)
        except (S3BatchError, ValueError) as exc:
            result = f"error: {exc}"
        return self.page(request, {"pattern": pattern, "event": event, "result": result})

    def replay(self, request: Request) -> Response:
        """POST: deliver a dead letter again."""
        try:
            self.bus.replay(request.path_params["letter_id"])
        except S3BatchError as exc:
            return self.render.page(request, "error.html", 400, message=str(exc))
        return RedirectResponse(f"{PREFIX}/events#dead-letters", 303)

    def set_state(self, request: Request) -> Response:
        """POST: enable or disable a rule."""
        form = request.state.form
        state = "DISABLED" if form.get("state") == "DISABLED" else "ENABLED"
        try:
            self.bus.set_state(form.get("rule", ""), form.get("bus") or None, state)
        except S3BatchError as exc:
            return self.render.page(request, "error.html", 400, message=str(exc))
        return RedirectResponse(f"{PREFIX}/events#rules", 303)
