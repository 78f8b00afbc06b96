"""App instances for the scale-out tests: `edl serve` as subprocesses on free ports, and a small load generator that
POSTs verifications to several of them at once and keeps every answer (status, verification id, timing)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.scaleout.cluster import free_port

API = "/api/v1/verifications"


class AppInstance:
    """One `edl serve` process (its own process group, so a SIGKILL takes it whole) with its log in a file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the process (not waiting for it to listen: `wait_ready`)."""
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edl", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"instance {self.name} exited at start:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"instance {self.name} did not answer /healthz in {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the instance's process group (it started it: `start_new_session`), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        """Ask the instance to stop (SIGTERM to its process group); `stop` waits for it."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        self.terminate()
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def start_all(instances: Sequence[AppInstance]) -> None:
    """Launch every instance, then wait for all (they start in parallel)."""
    for instance in instances:
        instance.launch()
    for instance in instances:
        instance.wait_ready()


def stop_all(instances: Sequence[AppInstance]) -> None:
    """Stop every instance (they shut down in parallel)."""
    for instance in instances:
        instance.terminate()
    for instance in instances:
        instance.stop()


@dataclass(frozen=True, slots=True)
class Answer:
    """One request of the load: which instance, when it was sent and answered (monotonic seconds), the HTTP status
    (0 when no HTTP answer came: refused or cut connection) and the JSON body."""

    instance: str
    sent: float
    received: float
    status: int
    body: dict[str, Any] | None = None
    error: str | None = None

    @property
    def verification_id(self) -> int | None:
        value = (self.body or {}).get("verification_id")
        return int(value) if value is not None else None


@dataclass
class Load:
    """Concurrent verifications spread over instances, round robin by worker, for at most `duration` seconds; the
    side thread of `run` may end it sooner (`finish_in`)."""

    targets: Sequence[AppInstance]
    key: str
    code: str
    concurrency: int = 8
    duration: float = 3.0
    answers: list[Answer] = field(default_factory=list)
    deadline: float = 0.0
    """When the workers stop sending (monotonic seconds); set by `run`, moved by `finish_in`."""

    def finish_in(self, seconds: float) -> None:
        """Stop sending `seconds` from now (from the side thread, once what it did needs only a tail of load)."""
        self.deadline = min(self.deadline, time.monotonic() + seconds)

    async def _worker(self, n: int, clients: dict[str, httpx.AsyncClient]) -> None:
        target = self.targets[n % len(self.targets)]
        client = clients[target.name]
        body = {"code": self.code}
        while time.monotonic() < self.deadline:
            sent = time.monotonic()
            try:
                r = await client.post(API, json=body)
            except httpx.HTTPError as exc:
                self.answers.append(Answer(target.name, sent, time.monotonic(), 0, error=type(exc).__name__))
                await asyncio.sleep(0.05)  # a dead instance: do not spin
                continue
            try:
                payload = r.json()
            except ValueError:
                payload = {"text": r.text[:200]}
            self.answers.append(Answer(target.name, sent, time.monotonic(), r.status_code, payload))
            if r.status_code == 503:
                await asyncio.sleep(0.02)  # as a client honouring Retry-After would, a little

    async def _run(self, during: Callable[[], None] | None) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        clients = {
            t.name: httpx.AsyncClient(base_url=t.url, headers=headers, timeout=15, limits=limits) for t in self.targets
        }
        try:
            self.deadline = time.monotonic() + self.duration
            jobs = [self._worker(n, clients) for n in range(self.concurrency)]
            if during is not None:
                jobs.append(asyncio.to_thread(during))
            await asyncio.gather(*jobs)
        finally:
            for c in clients.values():
                await c.aclose()

    def run(self, during: Callable[[], None] | None = None) -> list[Answer]:
        """Run the load (and `during`, in a thread, alongside it); every answer, in the order they came."""
        asyncio.run(self._run(during))
        return self.answers
