"""Sending JSON bodies botocore would not build (mistyped members), signed as boto3 signs them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError


def refused_body(client: Any, operation: str, body: dict[str, Any], **placeholder: Any) -> Any:
    """Call ``operation`` (boto3's name, e.g. ``submit_job``) with ``placeholder`` arguments,
    but send ``body`` as its JSON instead; the ClientError's response (the call must fail)."""
    name = client.meta.method_to_api_mapping[operation]
    service = client.meta.service_model.service_id.hyphenize()
    event = f"before-sign.{service}.{name}"

    def swap(request: Any, **_: Any) -> None:
        request.data = json.dumps(body).encode()

    client.meta.events.register(event, swap)
    try:
        with pytest.raises(ClientError) as caught:
            getattr(client, operation)(**placeholder)
    finally:
        client.meta.events.unregister(event, swap)
    return caught.value.response
