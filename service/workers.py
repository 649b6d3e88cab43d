"""Several worker processes on one port, each with its own SO_REUSEPORT socket.

uvicorn's own workers share one listening socket, and the kernel hands a burst of new connections
to whichever process wakes first: eight keep-alive clients (a gateway's upstream pool, a benchmark)
often all landed on one worker while the other idled. With a socket per worker bound with
SO_REUSEPORT, the kernel spreads connections over the workers by their addresses. A worker that
dies is started again; SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from types import FrameType

import uvicorn

logger = logging.getLogger("service")

_RESTART_PAUSE = 1.0  # seconds before a dead worker is started again (no tight crash loop)


def serve_workers(workers: int, host: str, port: int, uvicorn_options: dict) -> None:
    """Run `workers` processes serving service.app:create_app on host:port until told to stop."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited but settings
    stopping = False
    processes = [_start(context, host, port, uvicorn_options) for _ in range(workers)]

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        for i, process in enumerate(processes):
            if not process.is_alive() and not stopping:
                logger.warning("worker %d exited with %s; starting it again", process.pid, process.exitcode)
                time.sleep(_RESTART_PAUSE)
                processes[i] = _start(context, host, port, uvicorn_options)
        time.sleep(0.2)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=30)


def check_port_free(host: str, port: int) -> None:
    """OSError when another program (one without SO_REUSEPORT) holds the port: fail at once, not per worker."""
    with _bound_socket(host, port):
        pass


def _start(context, host: str, port: int, uvicorn_options: dict) -> multiprocessing.process.BaseProcess:
    process = context.Process(target=_worker, args=(host, port, uvicorn_options), daemon=False)
    process.start()
    return process


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(host: str, port: int, uvicorn_options: dict) -> None:
    sock = _bound_socket(host, port)
    sock.listen(2048)
    config = uvicorn.Config("service.app:create_app", factory=True, host=host, port=port, **uvicorn_options)
    uvicorn.Server(config).run(sockets=[sock])
