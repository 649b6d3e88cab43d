"""Writes that once poisoned the index or left corpus and index apart (issue 14): documents with no
text, failed builds (a full disk), long and decomposed names, start-up after a failed build."""

import errno
import shutil
import subprocess
import unicodedata
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import qa.manager
from indexer.build import build_index, corpus_files
from indexer.manifest import incompatibilities
from indexer.settings import IndexSettings
from indexer.store import IndexStore, read_manifest
from service.app import create_app
from service.config import Settings
from tests.conftest import MODEL, settings_for
from tests.server import running_service

PINYIN_ONLY = "(zhōng)(guó)\n(rén)(mín)".encode()


@pytest.fixture
def client(writable_client):
    return writable_client


def _upload(client, name: str, data: bytes):
    return client.post("/v1/documents", files={"file": (name, data, "text/plain")})


def _state(settings) -> tuple[dict[str, str], str]:
    return corpus_files(settings.corpus_dir), IndexStore.load(settings.index_dir).version


def test_a_document_with_no_text_is_refused_and_later_writes_still_work(client, fake_index) -> None:
    settings, _ = fake_index
    before = _state(settings)
    response = _upload(client, "pinyin.txt", PINYIN_ONLY)
    assert response.status_code == 400 and response.json()["error"]["code"] == "empty_document"
    assert _state(settings) == before
    assert _upload(client, "new.txt", "东阿县新增一项双随机抽查制度。".encode()).status_code == 201
    assert client.delete("/v1/documents/new.txt").status_code == 200
    assert client.post("/v1/admin/reindex").status_code == 200


def test_builds_skip_a_file_with_no_text_and_remember_it(fake_index) -> None:
    settings, embedder = fake_index
    (settings.corpus_dir / "pinyin.txt").write_bytes(PINYIN_ONLY)
    report = build_index(settings, lambda: embedder)
    assert report.skipped == ["pinyin.txt"]
    manifest = read_manifest(settings.index_dir)
    assert "pinyin.txt" not in manifest.files and "pinyin.txt" in manifest.skipped
    # the corpus and the index agree: the next start-up does not rebuild again and again
    assert incompatibilities(manifest, settings, corpus_files=corpus_files(settings.corpus_dir)) == []
    assert build_index(settings, lambda: embedder).skipped == ["pinyin.txt"]


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_upload_leaves_neither_file_nor_index_change(client, fake_index, monkeypatch) -> None:
    settings, _ = fake_index
    before = _state(settings)
    original = (settings.corpus_dir / "001_5545cfdd99bf609a.txt").read_bytes()
    monkeypatch.setattr(qa.manager, "build_index", _full_disk)
    for name in ("new.txt", "001_5545cfdd99bf609a.txt"):  # a new file, and a replacement
        response = _upload(client, name, "东阿县新增一项双随机抽查制度。".encode())
        assert response.status_code == 507 and response.json()["error"]["code"] == "insufficient_storage"
    assert client.delete("/v1/documents/001_5545cfdd99bf609a.txt").status_code == 507
    assert _state(settings) == before
    assert (settings.corpus_dir / "001_5545cfdd99bf609a.txt").read_bytes() == original
    assert not (settings.corpus_dir / ".incoming").exists()
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and "failed" in ready["degraded"]


def test_an_upload_and_delete_leave_no_folder_behind(client, fake_index) -> None:
    settings, _ = fake_index
    assert _upload(client, "new.txt", "东阿县新增一项双随机抽查制度。".encode()).status_code == 201
    assert client.delete("/v1/documents/new.txt").status_code == 200
    assert sorted(p.name for p in settings.corpus_dir.iterdir() if not p.is_file()) == []


def test_a_long_cjk_name_is_shortened_keeping_its_extension(client, fake_index) -> None:
    response = _upload(client, "关于机构编制" * 17 + ".txt", "东阿县新增一项双随机抽查制度。".encode())
    assert response.status_code == 201, response.text
    source = response.json()["source"]
    assert source.endswith(".txt") and len(source.encode()) <= 200
    assert client.get(f"/v1/documents/{source}").status_code == 200


def test_a_name_is_found_in_either_unicode_form(client) -> None:
    composed = unicodedata.normalize("NFC", "café报告.txt")
    assert _upload(client, composed, "东阿县新增一项双随机抽查制度。".encode()).status_code == 201
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert client.get(f"/v1/documents/{decomposed}").status_code == 200
    assert client.delete(f"/v1/documents/{decomposed}").status_code == 200


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_changes_nothing_and_start_up_serves_the_last_good_index(
    small_disk, tmp_path, real_embedder
) -> None:
    corpus = small_disk / "corpus"
    shutil.copytree(Path(__file__).parents[1] / "data" / "reports", corpus)
    settings = settings_for(corpus, small_disk / "index", model=str(MODEL))
    build_index(settings, lambda: real_embedder)
    good = IndexStore.load(settings.index_dir).version
    filler = small_disk / "filler"
    with filler.open("wb") as out:  # fill the disk but for a few kilobytes
        with pytest.raises(OSError):
            while True:
                out.write(b"\0" * 65536)
                out.flush()
    app_settings = Settings(**settings.model_dump(), build_on_start=False, open_writes=True)
    with TestClient(create_app(app_settings, embedder=real_embedder)) as client:
        before = corpus_files(corpus)
        response = _upload(client, "new.txt", "东阿县新增一项双随机抽查制度。".encode() * 2000)
        assert response.status_code == 507, response.text
        assert corpus_files(corpus) == before and IndexStore.load(settings.index_dir).version == good
        assert [p.name for p in (small_disk / "index" / "versions").iterdir()] == [good]
    # a new corpus file cannot be indexed on the full disk: start-up serves the last good index and says why
    with filler.open("r+b") as out:  # room for the file, not for a new index version
        out.truncate(filler.stat().st_size - 65536)
    (corpus / "extra.txt").write_bytes("东阿县另一项制度。".encode())
    env = {
        "RAGQA_INDEX_DIR": str(settings.index_dir),
        "RAGQA_CORPUS_DIR": str(corpus),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
    }
    with running_service(env, tmp_path / "service.log", build=True) as url:
        ready = httpx.get(f"{url}/readyz").json()
    assert ready["index_version"] == good and "start-up build failed" in ready["degraded"]


def test_the_default_corpus_is_a_working_copy_outside_the_repository_tree() -> None:
    settings = IndexSettings(_env_file=None)
    assert settings.corpus_dir.parts[0] == "var" and settings.corpus_seed == Path("data/reports")


def test_a_new_corpus_is_seeded_once_and_writes_never_touch_the_seed(tmp_path) -> None:
    seed = tmp_path / "seed"
    shutil.copytree(Path(__file__).parents[1] / "data" / "reports", seed)
    before = corpus_files(seed)
    corpus = tmp_path / "var" / "corpus"
    env = {
        "RAGQA_CORPUS_DIR": str(corpus),
        "RAGQA_CORPUS_SEED": str(seed),
        "RAGQA_INDEX_DIR": str(tmp_path / "index"),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
        "RAGQA_OPEN_WRITES": "true",
    }
    with running_service(env, tmp_path / "service.log", build=True) as url:
        notice = {"file": ("notice.txt", "东平县营商环境评估通知。".encode())}
        assert httpx.post(f"{url}/v1/documents", files=notice, timeout=60).status_code == 201
        assert httpx.delete(f"{url}/v1/documents/notice.txt", timeout=60).status_code == 200
    assert corpus_files(seed) == before and sorted(p.name for p in seed.iterdir()) == sorted(before)
    assert corpus_files(corpus) == before and all(p.is_file() for p in corpus.iterdir())
