"""S3's XML documents, written by hand (fast, and exactly the shape clients parse)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from s3batch.errors import S3BatchError
from s3batch.objectstore.errors import InvalidArgument

#: S3's XML namespace.
NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
#: Characters below space other than tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


class MalformedXML(InvalidArgument):
    """The XML you provided was not well-formed or did not validate against our published schema."""

    code = "MalformedXML"


def iso(moment: datetime) -> str:
    """ISO 8601 with milliseconds, as S3 writes times in XML."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def text(value: object) -> str:
    """Escape a value for element text: ``& < >``, and control characters as character
    references, as S3 writes them (a raw carriage return would be read back as a newline)."""
    escaped = escape(str(value))
    if _CONTROL.search(escaped):
        return _CONTROL.sub(lambda m: f"&#{ord(m.group())};", escaped)
    return escaped


def element(name: str, value: object) -> str:
    """``<name>value</name>``, or nothing when value is None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{text(value)}</{name}>"


def document(root: str, inner: Iterable[str] | str, namespace: bool = True) -> bytes:
    """A complete XML document."""
    body = inner if isinstance(inner, str) else "".join(inner)
    attr = f' xmlns="{NS}"' if namespace else ""
    return f"{_HEAD}<{root}{attr}>{body}</{root}>".encode()


def url_encoded(value: str | None, enabled: bool) -> str | None:
    """Apply ``encoding-type=url`` (``+`` becomes %2B; clients decode with unquote_plus)."""
    if value is None or not enabled:
        return value
    return quote(value, safe="/")


def error_document(exc: S3BatchError, request_id: str, resource: str) -> bytes:
    """The ``<Error>`` body S3 sends."""
    extra = "".join(element(k, v) for k, v in exc.details.items())
    inner = (
        element("Code", exc.code)
        + element("Message", exc.message)
        + extra
        + element("Resource", resource)
        + element("RequestId", request_id)
        + element("HostId", request_id)
    )
    return document("Error", inner, namespace=False)


def parse(body: bytes) -> ET.Element:
    """Parse a request document, stripping namespaces. Raises MalformedXML."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise MalformedXML() from exc
    for node in root.iter():
        if "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]
    return root
