"""Faults: the server killed with SIGKILL mid-upload and mid-index-update, and searches during changes."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from indexer.store import read_manifest
from tests.conftest import MODEL, REPORTS
from tests.server import start_service

NOTICE = "东平县关于开展营商环境评估的通知。全县各乡镇均纳入营商环境评估，评估于第三季度完成。\n".encode()


@pytest.fixture
def site(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(REPORTS, tmp_path / "corpus")
    return {
        "RAGQA_CORPUS_DIR": str(tmp_path / "corpus"),
        "RAGQA_INDEX_DIR": str(tmp_path / "index"),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
        "RAGQA_RELOAD_INTERVAL": "0.5",
        "RAGQA_OPEN_WRITES": "true",
    }


def _snapshot(url: str) -> dict[str, str]:
    """Every indexed document's text, by source, as the service serves it."""
    sources = [d["source"] for d in httpx.get(f"{url}/v1/documents").json()["documents"]]
    return {s: httpx.get(f"{url}/v1/documents/{s}").json()["text"] for s in sources}


def _corpus_files(site: dict[str, str]) -> dict[str, bytes]:
    root = Path(site["RAGQA_CORPUS_DIR"])
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_kill_during_upload_leaves_nothing_half_stored(site, tmp_path):
    log = tmp_path / "service.log"
    process, url = start_service(site, log, build=True)
    before_docs, before_files = _snapshot(url), _corpus_files(site)
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n' + NOTICE * 5000
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: %d\r\n\r\n" % (len(body) + 10))  # fmt: skip
        sock.sendall(body[: len(body) // 2])
        time.sleep(0.3)
        process.kill()
        process.wait()
    process, url = start_service(site, log, build=True)
    try:
        assert _corpus_files(site) == before_files
        assert _snapshot(url) == before_docs
    finally:
        process.kill()


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.6])
def test_kill_during_index_update_restarts_with_every_stored_file_indexed(site, tmp_path, delay):
    log = tmp_path / "service.log"
    process, url = start_service(site, log, build=True)
    before = _snapshot(url)
    target = Path(site["RAGQA_CORPUS_DIR"]) / "notice.txt"
    upload = threading.Thread(
        target=lambda: _quietly(httpx.post, f"{url}/v1/documents", files={"file": ("notice.txt", NOTICE)}, timeout=30)
    )
    upload.start()
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert target.exists(), "the upload never reached the corpus"
    time.sleep(delay)
    process.kill()  # SIGKILL: somewhere in the incremental build, or just after it
    process.wait()
    upload.join()
    process, url = start_service(site, log, build=True)
    try:
        after = _snapshot(url)
        assert after.pop("notice.txt") == NOTICE.decode()
        assert after == before  # nothing else changed
        hits = httpx.post(f"{url}/v1/search", json={"query": "营商环境评估", "mode": "lexical"}).json()["hits"]
        assert hits[0]["source"] == "notice.txt"
        manifest = read_manifest(Path(site["RAGQA_INDEX_DIR"]))
        assert set(manifest.files) == set(_corpus_files(site))
    finally:
        process.kill()


def test_200_concurrent_searches_during_an_add_and_a_delete(site, tmp_path):
    process, url = start_service(site, tmp_path / "service.log", build=True)
    try:
        statuses = asyncio.run(_searches_while_changing(url))
        assert statuses["searches"] == [200] * 200
        assert statuses["changes"] == [201, 200]
    finally:
        process.kill()


async def _searches_while_changing(url: str) -> dict[str, list[int]]:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def search(i: int) -> int:
            await asyncio.sleep(i * 0.005)  # spread over the add and the delete
            query = ["东阿县如何开展双随机检查", "营商环境评估", "學習貫徹《條例》"][i % 3]
            return (await client.post("/v1/search", json={"query": query})).status_code

        async def changes() -> list[int]:
            added = await client.post("/v1/documents", files={"file": ("notice.txt", NOTICE)})
            deleted = await client.delete("/v1/documents/notice.txt")
            return [added.status_code, deleted.status_code]

        results = await asyncio.gather(changes(), *(search(i) for i in range(200)))
    return {"changes": results[0], "searches": list(results[1:])}


def _quietly(call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except httpx.HTTPError:
        pass  # the server was killed under the request
