"""The v1 HTTP contract in-process: fields, citations, refusals, documents, and every error shape."""

import re

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.conftest import DONGE_REPORT, TRADITIONAL_REPORT, FakeEmbedder


def assert_error(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


@pytest.fixture(scope="module")
def client(real_index, real_embedder):
    settings = Settings(**real_index.model_dump(), build_on_start=False, open_writes=True)
    with TestClient(create_app(settings, embedder=real_embedder)) as test_client:
        yield test_client


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 5 and ready["chunks"] > 50
    assert isinstance(ready["index_version"], str) and ready["index_version"]


def test_search_returns_ranked_hits_quoting_the_document(client) -> None:
    body = client.post("/v1/search", json={"query": "东阿县如何开展双随机检查", "top_k": 5}).json()
    assert body["query"] == "东阿县如何开展双随机检查" and body["took_ms"] >= 0
    hits = body["hits"]
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1)) and len(hits) == 5
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert hits[0]["source"] == DONGE_REPORT and "双随机" in hits[0]["text"]
    assert hits[0]["chunk_id"].startswith(DONGE_REPORT + "#") and hits[0]["section"] == "四、“三项监督”促法治成效"
    for hit in hits:
        text = client.get(f"/v1/documents/{hit['source']}").json()["text"]
        assert text[hit["start"] : hit["end"]] == hit["text"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_sources_filter_limits_hits(client, mode) -> None:
    body = client.post(
        "/v1/search", json={"query": "机构编制", "top_k": 10, "mode": mode, "sources": [TRADITIONAL_REPORT]}
    ).json()
    assert body["hits"] and {h["source"] for h in body["hits"]} == {TRADITIONAL_REPORT}


def test_overlapping_chunks_are_not_returned_twice(client) -> None:
    hits = client.post("/v1/search", json={"query": "双随机", "top_k": 20}).json()["hits"]
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            if a["source"] == b["source"]:
                shared = min(a["end"], b["end"]) - max(a["start"], b["start"])
                assert shared <= 0.5 * min(a["end"] - a["start"], b["end"] - b["start"])


def test_ask_answers_with_markers_that_match_exact_citations(client) -> None:
    body = client.post("/v1/ask", json={"question": "东阿县开展了几次双随机抽查？"}).json()
    assert body["answerable"] is True and body["mode"] == "extractive"
    assert "7次" in body["answer"]
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == {c["id"] for c in body["citations"]} and body["citations"]
    for citation in body["citations"]:
        text = client.get(f"/v1/documents/{citation['source']}").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
        assert citation["chunk_id"].startswith(citation["source"] + "#")
    assert body["passages"] and body["passages"][0]["rank"] == 1


def test_citation_of_a_traditional_report_quotes_traditional_characters(client) -> None:
    body = client.post("/v1/ask", json={"question": "肥东县研究出台了哪些机构编制基本工作制度？"}).json()
    assert body["answerable"]
    quotes = [c["quote"] for c in body["citations"] if c["source"] == TRADITIONAL_REPORT]
    assert quotes and any("肥東縣" in q for q in quotes)
    assert "肥东县" in body["answer"], "the answer reads in the question's script"


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("如何办理护照？", "资料中未找到与该问题相关的内容。"),
        ("肥東縣的戶籍人口有多少？", "資料中未找到與該問題相關的內容。"),
        ("How do I apply for a passport?", "The documents contain nothing that answers this question."),
    ],
)
def test_unanswerable_questions_are_declined_in_the_questions_language(client, question, refusal) -> None:
    body = client.post("/v1/ask", json={"question": question}).json()
    assert body["answerable"] is False and body["answer"] == refusal and body["citations"] == []


def test_documents_list_and_fetch(client) -> None:
    documents = client.get("/v1/documents").json()["documents"]
    assert len(documents) == 5
    first = documents[0]
    assert set(first) == {"source", "title", "chars", "chunks", "sha256"}
    body = client.get(f"/v1/documents/{first['source']}").json()
    assert set(body) == {"source", "title", "text"} and len(body["text"]) == first["chars"]


@pytest.mark.parametrize(
    "payload",
    [
        {"query": ""},
        {"query": "   \n\t "},
        {"query": "机" * 10_000},
        {"query": "机构", "top_k": 0},
        {"query": "机构", "top_k": 1000},
        {"query": "机构", "top_k": "five"},
        {"query": 42},
        {"query": ["机构"]},
        {"query": "机构", "mode": "semantic"},
        {"query": "机构", "sources": "001.txt"},
        {},
    ],
)
def test_bad_search_input_gets_the_error_body(client, payload) -> None:
    assert_error(client.post("/v1/search", json=payload), 422, "invalid_request")


@pytest.mark.parametrize("payload", [{"question": ""}, {"question": "x" * 1001}, {"question": "q", "top_k": 51}])
def test_bad_ask_input_gets_the_error_body(client, payload) -> None:
    assert_error(client.post("/v1/ask", json=payload), 422, "invalid_request")


def test_invalid_json_gets_the_error_body(client) -> None:
    response = client.post(
        "/v1/search", content='{"query": "机构'.encode(), headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_request")


@pytest.mark.parametrize("sources", [["nope.txt"], ["../etc/passwd"], [DONGE_REPORT, "missing.md"]])
def test_unknown_sources_in_a_filter_are_rejected(client, sources) -> None:
    assert_error(client.post("/v1/search", json={"query": "机构", "sources": sources}), 400, "invalid_request")


@pytest.mark.parametrize("path", ["nope.txt", "sub/nope.md"])
def test_unknown_document_is_404(client, path) -> None:
    assert_error(client.get(f"/v1/documents/{path}"), 404, "not_found")


@pytest.mark.parametrize(
    "path", ["../pyproject.toml", "..%2Fpyproject.toml", "a/../../pyproject.toml", "%2Fetc%2Fpasswd"]
)
def test_path_traversal_never_reads_a_file(client, path) -> None:
    response = client.get(f"/v1/documents/{path}")
    assert response.status_code in (400, 404)
    assert_error(response, response.status_code)
    assert "[build-system]" not in response.text and "root:" not in response.text


def test_unknown_route_and_method_are_json_errors(client) -> None:
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/search"), 405, "method_not_allowed")


def test_openapi_describes_the_contract(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ["/healthz", "/readyz", "/v1/search", "/v1/ask", "/v1/documents", "/v1/documents/{source}"]:
        assert path in paths


def test_without_an_index_the_service_is_up_but_not_ready(tmp_path) -> None:
    settings = Settings(index_dir=tmp_path / "none", corpus_dir=tmp_path, embedding_model="fake", build_on_start=False)
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        assert client.get("/healthz").status_code == 200
        assert_error(client.get("/readyz"), 503, "index_unavailable")
        assert_error(client.post("/v1/search", json={"query": "机构"}), 503, "index_unavailable")


def test_reindex_swaps_in_a_rebuilt_index(corpus, tmp_path) -> None:
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", embedding_model=FakeEmbedder.name, open_writes=True
    )
    embedder = FakeEmbedder()
    with TestClient(create_app(settings, embedder=embedder)) as client:
        assert_error(client.get("/readyz"), 503)
        first = client.post("/v1/admin/reindex").json()
        assert len(first["added"]) == 5 and client.get("/readyz").json()["documents"] == 5
        (corpus / "new.txt").write_text("某县新设立了机构编制专家咨询委员会。", encoding="utf-8")
        second = client.post("/v1/admin/reindex").json()
        assert second["added"] == ["new.txt"] and second["chunks_embedded"] == 1
        hits = client.post("/v1/search", json={"query": "专家咨询委员会", "mode": "lexical"}).json()["hits"]
        assert hits[0]["source"] == "new.txt"


def test_every_domain_error_has_a_status() -> None:
    from qa import errors
    from service.errors import DOMAIN_STATUS

    domain = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.QAError)]
    assert all(any(issubclass(c, mapped) for mapped, _, _ in DOMAIN_STATUS) for c in domain)
    assert DOMAIN_STATUS[-1][0] is errors.QAError, "the catch-all row comes last"


def test_a_how_many_question_is_declined_when_no_passage_states_such_a_quantity(client) -> None:
    answered = client.post("/v1/ask", json={"question": "东阿县一共开展了几次双随机抽查？"}).json()
    assert answered["answerable"] and "7次" in answered["answer"]
    declined = client.post("/v1/ask", json={"question": "东阿县开展双随机抽查一共罚款多少元？"}).json()
    assert declined["answerable"] is False and declined["citations"] == []


def test_a_heading_that_restates_the_question_brings_the_sentences_after_it(client) -> None:
    body = client.post("/v1/ask", json={"question": "崇川區如何用底線思維強化剛性約束？"}).json()
    assert body["answerable"] and "底線思維" in body["answer"]
    assert "守住總量" in body["answer"], "the answer is what follows the heading, not the heading alone"
    assert len(body["citations"]) == 1, "heading and what follows are one span, one citation"
