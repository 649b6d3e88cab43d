"""Several worker processes (RAGQA_WORKERS): connections spread over all of them, one port, clean stop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from bench.http_latency import load_level
from tests.conftest import MODEL, ROOT
from tests.server import free_port, start_service, worker_pids


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_keep_alive_clients_are_spread_over_both_workers_and_sigterm_stops_all(real_index, tmp_path) -> None:
    env = {"RAGQA_INDEX_DIR": str(real_index.index_dir), "RAGQA_CORPUS_DIR": str(real_index.corpus_dir),
           "RAGQA_EMBEDDING_MODEL": str(MODEL), "RAGQA_WORKERS": "2", "RAGQA_QUERY_CACHE": "0"}  # fmt: skip
    process, url = start_service(env, tmp_path / "service.log")
    try:
        workers = worker_pids(process.pid)
        assert len(workers) == 2
        before = {w: _cpu_ticks(w) for w in workers}
        questions = [f"东阿县第{i}次双随机检查抽查了哪些部门" for i in range(300)]
        # SO_REUSEPORT hashes each connection to a worker: with 8 all land on one 1 time in 128, with 16 1 in 32,768
        result = asyncio.run(load_level(url, "/v1/search", questions, 16, 300, 120.0))
        assert result["errors"] == 0
        used = sorted(_cpu_ticks(w) - before[w] for w in workers)
        # sixteen keep-alive connections opened at once: each worker serves a fair share of them
        assert used[0] >= 0.25 * used[1], used
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert all(not Path(f"/proc/{w}").exists() for w in workers)


def test_a_port_held_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = subprocess.run(
            [sys.executable, "-m", "service", "--no-build", "--port", str(port)],
            env={**os.environ, "RAGQA_WORKERS": "2", "RAGQA_INDEX_DIR": str(tmp_path / "none")},
            capture_output=True, text=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
