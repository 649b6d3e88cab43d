"""Index swaps under load: /v1/admin/reindex and a CLI build, while searches are in flight."""

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from indexer.build import build_index
from tests.conftest import MODEL, ROOT, settings_for
from tests.server import running_service


@pytest.fixture
def service_url(corpus, tmp_path, real_embedder):
    settings = settings_for(corpus, tmp_path / "index", model=str(MODEL))
    build_index(settings, lambda: real_embedder)
    env = {
        "RAGQA_INDEX_DIR": str(settings.index_dir),
        "RAGQA_CORPUS_DIR": str(corpus),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
        "RAGQA_RELOAD_INTERVAL": "0.5",
        "RAGQA_OPEN_WRITES": "true",
    }
    with running_service(env, tmp_path / "service.log") as url:
        yield url, settings


def _search(url: str, i: int) -> int:
    query = ["东阿县如何开展双随机检查", "郓城县挖潜事业编制", "肥東縣委編辦"][i % 3]
    return httpx.post(f"{url}/v1/search", json={"query": query}, timeout=60).status_code


def test_searches_in_flight_during_reindex_all_succeed(service_url) -> None:
    url, settings = service_url
    (settings.corpus_dir / "new.txt").write_text("某县成立了机构编制专家咨询委员会。", encoding="utf-8")
    with ThreadPoolExecutor(max_workers=8) as pool:
        searches = [pool.submit(_search, url, i) for i in range(200)]
        reindex = httpx.post(f"{url}/v1/admin/reindex", timeout=120)
        statuses = [f.result() for f in searches]
    assert reindex.status_code == 200 and reindex.json()["added"] == ["new.txt"]
    assert statuses == [200] * 200
    hits = httpx.post(f"{url}/v1/search", json={"query": "专家咨询委员会", "mode": "lexical"}).json()["hits"]
    assert hits[0]["source"] == "new.txt"


def test_a_cli_build_is_picked_up_by_the_running_service(service_url) -> None:
    url, settings = service_url
    before = httpx.get(f"{url}/readyz").json()
    (settings.corpus_dir / "cli.md").write_text("# 新文件\n某区推行了编制周转池制度。", encoding="utf-8")
    command = [sys.executable, "-m", "indexer", "build", "--corpus", str(settings.corpus_dir),
               "--index", str(settings.index_dir), "--model", str(MODEL), "--quiet"]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = httpx.get(f"{url}/readyz").json()
        if ready["index_version"] != before["index_version"]:
            break
        time.sleep(0.2)
    assert ready["documents"] == before["documents"] + 1
    hits = httpx.post(f"{url}/v1/search", json={"query": "编制周转池", "mode": "lexical"}).json()["hits"]
    assert hits[0]["source"] == "cli.md"
