"""An HTTP endpoint as an event target: POST the delivered payload as JSON (like an API destination).

s3batch's extension: the target ``Arn`` is the endpoint URL itself (``http://`` or
``https://``). ``HttpParameters`` takes AWS's ``HeaderParameters`` and
``QueryStringParameters``. A 2xx answer is success; 429, 5xx, timeouts and connection
failures are retriable; any other answer is final, as API destinations treat them.
No shell is involved: the request is made with :mod:`urllib`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from s3batch.errors import S3BatchError
from s3batch.events.targets import RetriableTargetError
from s3batch.types import Json

#: Seconds to wait for the endpoint (API destinations allow 5).
TIMEOUT = 5.0


class HttpTargetRejected(S3BatchError):
    """The endpoint refused the event."""

    code = "HTTP_CLIENT_ERROR"


def _request(target: Json, payload: Json, delivery_id: str) -> urllib.request.Request:
    params = target.get("HttpParameters") or {}
    url = target["Arn"]
    query = params.get("QueryStringParameters") or {}
    if query:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
    headers = {"content-type": "application/json", "x-s3batch-delivery-id": delivery_id}
    headers.update(params.get("HeaderParameters") or {})
    body = json.dumps(payload, separators=(",", ":")).encode()
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


class HttpTarget:
    """POSTs each delivered payload to the target's URL."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout

    def deliver(self, event: Json, target: Json, payload: Json, delivery_id: str) -> str:
        """POST the payload; return the status. Raises RetriableTargetError or HttpTargetRejected."""
        try:
            with urllib.request.urlopen(
                _request(target, payload, delivery_id), timeout=self.timeout
            ) as response:
                return f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            exc.close()  # the error carries the open response
            if exc.code == 429 or exc.code >= 500:
                code = "THROTTLING" if exc.code == 429 else "HTTP_SERVER_ERROR"
                raise RetriableTargetError(f"{target['Arn']} answered {exc.code}", code) from exc
            raise HttpTargetRejected(f"{target['Arn']} answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise RetriableTargetError(f"{target['Arn']} unreachable: {exc}", "TIMEOUT") from exc
