"""A real eDL server for tests that speak HTTP to it: Uvicorn in a thread of the test process, on a free port of
127.0.0.1, serving `create_app(container)` (as `edl serve` does, minus the start-up checks of its settings)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from edl.bootstrap import Container


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(container: Container, *, start_timeout: float = 30) -> Iterator[str]:
    """Serve the app of `container` until the block ends; yields its base URL (``http://127.0.0.1:PORT``)."""
    import uvicorn

    from edl.web.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"edl-live-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the eDL server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
