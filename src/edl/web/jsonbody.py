"""JSON request bodies: read with a byte limit while they stream in (413), parsed with a depth limit (400).

`read_body` refuses a declared `Content-Length` over the limit before reading a byte, then counts while reading
and stops at the first chunk past the limit: a 50 MB body costs at most the limit plus one chunk. `read_json` adds
`edl.boundedjson.loads`, which never lets a `RecursionError` (or anything but `JsonRefused`) out. Both run in the
event loop: no thread hop. Each route answers the two refusals in its own documented JSON shape.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from starlette.requests import Request

from edl.boundedjson import MAX_DEPTH, JsonRefused, loads

__all__ = ["MAX_DEPTH", "BodyTooLarge", "JsonRefused", "read_body", "read_json"]


class BodyTooLarge(Exception):
    """The body is (or says it is) longer than `limit` bytes; the rest of it was not read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes; `BodyTooLarge` (from the header alone when it declares more)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(limit)
                chunks.append(chunk)
    except RuntimeError:  # "Stream consumed": a form parser (the CSRF check's fallback) read it; no JSON is left
        return b""
    return b"".join(chunks)


async def read_json(request: Request, limit: int, *, max_depth: int = MAX_DEPTH) -> Any:
    """The body's JSON value: `BodyTooLarge` past `limit` bytes, `JsonRefused` when it is not JSON (UTF-8) or nests
    deeper than `max_depth`."""
    return loads(await read_body(request, limit), max_depth=max_depth)
