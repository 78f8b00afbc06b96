"""JSON request bodies: read with a byte limit while they stream in (413), parsed with a depth limit (400).

`read_body` refuses a declared `Content-Length` over the limit before reading a byte, then counts while reading
and stops at the first chunk past the limit: a 50 MB body costs at most the limit plus one chunk. `read_json` adds
`edl.boundedjson.loads`, which never lets a `RecursionError` (or anything but `JsonRefused`) out. Both run in the
event loop: no thread hop. Each route answers the two refusals in its own documented JSON shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from starlette.requests import Request

from edl.boundedjson import MAX_DEPTH, JsonRefused, loads

__all__ = ["MAX_DEPTH", "BodyTooLarge", "JsonRefused", "collect_body", "declared_over", "read_body", "read_json"]


class BodyTooLarge(Exception):
    """The body is (or says it is) longer than `limit` bytes; the rest of it was not read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes; `BodyTooLarge` (from the header alone when it declares more)."""
    try:
        async with aclosing(request.stream()) as stream:
            return await collect_body(request.headers.get("content-length"), stream, limit)
    except RuntimeError:  # "Stream consumed": a form parser (the CSRF check's fallback) read it; no JSON is left
        return b""


def declared_over(declared: str | None, limit: int) -> bool:
    """Whether a `Content-Length` value declares more than `limit` bytes (a run of more than 18 digits always does:
    `int()` is never asked to read thousands of digits)."""
    text = declared or ""
    return text.isascii() and text.isdigit() and (len(text) > 18 or int(text) > limit)


async def collect_body(declared: str | None, chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The body from `chunks`, at most `limit` bytes: `BodyTooLarge` at once when the declared `Content-Length`
    says more, else at the first chunk past the limit (nothing after it is read)."""
    if declared_over(declared, limit):
        raise BodyTooLarge(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


async def read_json(request: Request, limit: int, *, max_depth: int = MAX_DEPTH) -> Any:
    """The body's JSON value: `BodyTooLarge` past `limit` bytes, `JsonRefused` when it is not JSON (UTF-8) or nests
    deeper than `max_depth`."""
    return loads(await read_body(request, limit), max_depth=max_depth)
