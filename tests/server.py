"""Runs the real service (python -m service) in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_service(env: dict[str, str], log: Path, *, build: bool = False, timeout: float = 90.0) -> Iterator[str]:
    """Start the service with the given RAGQA_* variables; yields its base URL once /readyz is 200."""
    process, url = start_service(env, log, build=build, timeout=timeout)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def start_service(env: dict[str, str], log: Path, *, build: bool = False, timeout: float = 90.0):
    """`python -m service` (building a stale index first when `build`); returns (process, url) once ready."""
    port = free_port()
    full_env = {**os.environ, **env, "RAGQA_HOST": "127.0.0.1", "RAGQA_PORT": str(port)}
    command = [sys.executable, "-m", "service"] + ([] if build else ["--no-build"])
    with log.open("a") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, timeout, log)
    except BaseException:
        process.kill()
        raise
    return process, url


def wait_until_up(
    url: str, process: subprocess.Popen, timeout: float, log: Path, *, path: str = "/readyz", name: str = "service"
) -> None:
    """Return once GET url+path is 200; RuntimeError with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def worker_pids(pid: int) -> list[int]:
    """The worker processes of `python -m service` running with RAGQA_WORKERS > 1 (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    commands = {int(c): Path(f"/proc/{c}/cmdline").read_bytes() for c in children}
    return [c for c, cmd in commands.items() if b"multiprocessing.spawn" in cmd and b"resource_tracker" not in cmd]
