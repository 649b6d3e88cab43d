"""Document management over the API: upload in every format, duplicates, limits, names, deletion."""

from __future__ import annotations

import io

import docx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.conftest import DONGE_REPORT, FakeEmbedder
from tests.test_api import assert_error

NOTICE = (
    "东平县关于开展营商环境评估的通知。\n一、评估范围。全县各乡镇均纳入营商环境评估。\n"
    "二、时间安排。评估于第三季度完成。\n"
)


@pytest.fixture
def client(writable_client):
    return writable_client


def upload(client, name: str, data: bytes, **kwargs):
    return client.post("/v1/documents", files={"file": (name, data)}, **kwargs)


def _docx(text: str) -> bytes:
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica (ASCII), offsets computed for a valid xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("东平县通知.txt", NOTICE.encode("gb18030"), "营商环境评估"),
        ("東平縣通知.txt", NOTICE.encode("utf-8").replace("东平县".encode(), "東平縣".encode()), "营商环境评估"),
        ("notice-big5.txt", "東平縣關於開展營商環境評估的通知。全縣各鄉鎮均納入評估。".encode("big5"), "營商環境評估"),
        ("notice.md", ("# 东平县通知\n\n" + NOTICE).encode("utf-16"), "营商环境评估"),
        (
            "notice.html",
            f"<html><head><meta charset='gbk'><style>p{{}}</style></head><body><p>{NOTICE}</p>"
            "<script>var x=1;</script></body></html>".encode("gbk"),
            "营商环境评估",
        ),  # fmt: skip
        ("notice.docx", _docx(NOTICE), "营商环境评估"),
        ("notice.pdf", _pdf("Dongping county business environment assessment 2024"), "business environment"),
    ],
)
def test_uploaded_document_is_stored_indexed_and_searchable(client, fake_index, name, data, needle):
    settings, _ = fake_index
    response = upload(client, name, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "added" and body["source"] == name and body["documents"] == 6
    assert (settings.corpus_dir / name).read_bytes() == data  # the original file, byte for byte
    assert name in [d["source"] for d in client.get("/v1/documents").json()["documents"]]
    text = client.get(f"/v1/documents/{name}").json()["text"]
    assert needle in text and "var x" not in text
    hits = client.post("/v1/search", json={"query": needle, "mode": "lexical", "top_k": 3}).json()["hits"]
    assert hits[0]["source"] == name
    assert text[hits[0]["start"] : hits[0]["end"]] == hits[0]["text"]


def test_same_content_again_is_a_duplicate_and_changes_nothing(client, fake_index):
    settings, _ = fake_index
    data = (settings.corpus_dir / DONGE_REPORT).read_bytes()
    before = client.get("/readyz").json()["index_version"]
    assert_error(upload(client, "copy.txt", data), 409, "duplicate")
    assert DONGE_REPORT in upload(client, "copy.txt", data).json()["error"]["message"]
    assert not (settings.corpus_dir / "copy.txt").exists()
    assert client.get("/readyz").json()["index_version"] == before


def test_same_name_with_new_content_replaces_the_document(client):
    assert upload(client, "notice.txt", NOTICE.encode()).json()["status"] == "added"
    changed = NOTICE.replace("第三季度", "第四季度")
    assert upload(client, "notice.txt", changed.encode()).json()["status"] == "replaced"
    assert "第四季度" in client.get("/v1/documents/notice.txt").json()["text"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("tool.exe", b"MZ\x90\x00", "unsupported file type .exe"),
        ("noextension", b"text", "unsupported file type (none)"),
        ("binary.txt", bytes(range(256)) * 4, "binary content"),
        ("empty.txt", b"", "no text found"),
        ("blank.md", b"  \n\t\n", "no text found"),
        ("fake.docx", b"this is not a zip package", "not a .docx file"),
        ("fake.pdf", b"%PDF-1.4 garbage", "not a readable .pdf file"),
        (".txt", NOTICE.encode(), "unsupported file type (none)"),  # a hidden name, no extension
        ("....txt", NOTICE.encode(), "unsupported file type (none)"),
        ("<>.txt", NOTICE.encode(), "file name is empty"),
    ],
)
def test_unsupported_or_unreadable_files_are_refused_with_the_reason(client, fake_index, name, data, reason):
    settings, _ = fake_index
    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    response = upload(client, name, data)
    assert_error(response, 400, "invalid_request")
    assert reason in response.json()["error"]["message"]
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before


def test_a_file_over_the_upload_limit_gets_413(client, fake_index):
    settings, _ = fake_index
    assert_error(upload(client, "big.txt", ("长" * 40_000).encode()), 413, "payload_too_large")
    assert not (settings.corpus_dir / "big.txt").exists()


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        ("/abs/path/报告.md", "报告.md"),
        (".hidden.txt", "hidden.txt"),
        ("a/b/../c.TXT", "c.txt"),
        ("con<>:|?*.txt", "con______.txt"),
        ('con".txt', "con%22.txt"),  # the client (like a browser) percent-encodes quotes and controls
        ("bell\x07\u200bname.txt", "bell%07name.txt"),
        ("zero\u200b\u202ewidth.txt", "zerowidth.txt"),
        ("x" * 300 + ".txt", "x" * 116 + ".txt"),
    ],
)
def test_upload_names_are_sanitised_into_the_corpus_root(client, fake_index, name, stored):
    settings, _ = fake_index
    response = upload(client, name, NOTICE.encode() + name.encode())
    assert response.status_code == 201, response.text
    assert response.json()["source"] == stored
    assert (settings.corpus_dir / stored).is_file()
    corpus = settings.corpus_dir.resolve()
    assert all(p.resolve().is_relative_to(corpus) for p in corpus.rglob("*"))
    assert not (settings.corpus_dir.parent / "etc").exists()


def test_delete_removes_the_file_and_its_passages(client, fake_index):
    settings, _ = fake_index
    upload(client, "notice.txt", NOTICE.encode())
    response = client.delete("/v1/documents/notice.txt")
    assert response.status_code == 200 and response.json()["status"] == "deleted"
    assert not (settings.corpus_dir / "notice.txt").exists()
    assert_error(client.get("/v1/documents/notice.txt"), 404, "not_found")
    hits = client.post("/v1/search", json={"query": "营商环境评估", "mode": "lexical"}).json()["hits"]
    assert all(h["source"] != "notice.txt" for h in hits)
    assert_error(client.delete("/v1/documents/notice.txt"), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    ["..%2F..%2Fetc%2Fpasswd", "%2E%2E/secret.txt", "a/%2E%2E/%2E%2E/x.txt", "%2Fetc%2Fpasswd", ".incoming/x.part",
     "..%5C..%5Cwin.ini", "%00.txt"],
)  # fmt: skip
def test_path_traversal_on_delete_and_get_is_refused(client, fake_index, tmp_path, path):
    settings, _ = fake_index
    outside = settings.corpus_dir.parent / "secret.txt"
    outside.write_text("secret")
    for response in (client.delete(f"/v1/documents/{path}"), client.get(f"/v1/documents/{path}")):
        assert response.status_code in (400, 404), response.text
        assert_error(response, response.status_code)
    assert outside.read_text() == "secret"


def test_the_last_document_cannot_be_deleted(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "only.txt").write_text(NOTICE)
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", embedding_model=FakeEmbedder.name, open_writes=True
    )
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        client.post("/v1/admin/reindex")
        assert_error(client.delete("/v1/documents/only.txt"), 409, "conflict")
    assert (corpus / "only.txt").is_file()
