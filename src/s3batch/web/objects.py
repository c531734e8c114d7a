"""Objects page: buckets, prefix navigation, download, and upload (which runs the pipeline)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from s3batch.errors import S3BatchError
from s3batch.objectstore.checksums import BodyDigest
from s3batch.objectstore.models import Attributes
from s3batch.runtime import Services
from s3batch.types import RequestContext
from s3batch.web.render import Renderer

#: Largest upload the page accepts (the body is held in memory).
MAX_UPLOAD = 512 * 1024 * 1024
#: Keys per listing page.
LISTING = 1000


class ObjectPages:
    """The object store as pages."""

    def __init__(
        self, services: Services, render: Renderer, region: str, default_key_id: str
    ) -> None:
        self.objects = services.objects
        self.render = render
        self.region = region
        self.default_key_id = default_key_id

    def buckets(self, request: Request) -> Response:
        """All buckets."""
        return self.render.page(
            request, "objects.html", buckets=self.objects.list_buckets(), bucket=None
        )

    def bucket(self, request: Request) -> Response:
        """One bucket's keys under a prefix, with the common prefixes as folders."""
        name, prefix = request.path_params["bucket"], request.query_params.get("prefix", "")
        try:
            listing = self.objects.list_objects(name, prefix, "/", LISTING)
        except S3BatchError as exc:
            return self.render.page(request, "error.html", 404, message=str(exc))
        crumbs = _crumbs(prefix)
        return self.render.page(
            request,
            "objects.html",
            bucket=name,
            key_prefix=prefix,
            listing=listing,
            crumbs=crumbs,
            buckets=self.objects.list_buckets(),
        )

    def download(self, request: Request) -> Response:
        """An object's bytes as an attachment."""
        name, key = request.path_params["bucket"], request.query_params.get("key", "")
        try:
            obj = self.objects.get_object(name, key)
        except S3BatchError as exc:
            return self.render.page(request, "error.html", 404, message=str(exc))
        filename = quote(key.rsplit("/", 1)[-1] or "object")
        headers = {
            "content-disposition": f"attachment; filename*=UTF-8''{filename}",
            "etag": obj.etag,
            "content-length": str(obj.size),
        }
        kind = obj.attributes.content_type or "application/octet-stream"
        return StreamingResponse(self.objects.read(obj), headers=headers, media_type=kind)

    async def upload(self, request: Request) -> Response:
        """POST the file's bytes (``?key=``): stored exactly as a PutObject, so trails and rules fire."""
        name, key = request.path_params["bucket"], request.query_params.get("key", "")
        if not key:
            return JSONResponse({"error": "key is required"}, 400)
        digest, chunks, size = BodyDigest(want_sha256=False, checksum_algorithm=None), [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD:
                return JSONResponse({"error": "too large for the dashboard: use the aws CLI"}, 413)
            digest.update(chunk)
            chunks.append(chunk)
        attrs = Attributes(content_type=request.headers.get("x-content-type") or None)
        args = (name, key, b"".join(chunks), digest.result(), attrs, self._ctx(request))
        try:
            obj = await run_in_threadpool(self.objects.put_object, *args)
        except S3BatchError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"bucket": name, "key": key, "etag": obj.etag, "size": obj.size})

    def _ctx(self, request: Request) -> RequestContext:
        return RequestContext(
            request_id=uuid.uuid4().hex.upper()[:16],
            access_key_id=request.state.user or self.default_key_id,
            source_ip=request.client.host if request.client else "127.0.0.1",
            user_agent=request.headers.get("user-agent", ""),
            region=self.region,
            host=request.headers.get("host", ""),
        )


def _crumbs(prefix: str) -> list[tuple[str, str]]:
    parts = [p for p in prefix.split("/") if p]
    return [(part, "/".join(parts[: i + 1]) + "/") for i, part in enumerate(parts)]
