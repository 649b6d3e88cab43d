"""Requests that once stalled the server or crashed a handler: long queries, repeated sources, invalid
Unicode, long chat histories (issue 14). Each test failed on the code before the fix."""

import asyncio
import json
import random
import socket
import urllib.error
import urllib.request

import jieba.posseg
import pytest
from fastapi.testclient import TestClient

from indexer.text import places
from qa.loaded import LoadedIndex
from service.app import create_app
from service.config import Settings
from tests.conftest import DONGE_REPORT, MODEL
from tests.server import running_service


@pytest.fixture(scope="module")
def client(real_index, real_embedder):
    settings = Settings(**real_index.model_dump(), build_on_start=False)
    with TestClient(create_app(settings, embedder=real_embedder)) as test_client:
        yield test_client


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "invalid_request"
    return body["error"]["message"]


def test_place_tagging_never_runs_the_hmm_over_unknown_characters(client, monkeypatch) -> None:
    # jieba's HMM pass cost ~2.5 ms per rare character: a 1,000-character query held the event loop 2-3 s.
    def refuse(*args, **kwargs):
        raise AssertionError("the HMM pass ran")

    monkeypatch.setattr(jieba.posseg, "viterbi", refuse)
    rare = "".join(chr(random.Random(7).randint(0x4E00, 0x9FA5)) for _ in range(1000))
    assert client.post("/v1/search", json={"query": rare}).status_code == 200
    assert places("郓城县和东阿县如何开展双随机抽查") == ["郓城县", "东阿县"], "places are still found"


def test_repeated_sources_count_once_and_a_huge_list_is_refused(client) -> None:
    once = client.post("/v1/search", json={"query": "双随机抽查", "sources": [DONGE_REPORT]}).json()
    repeated = client.post("/v1/search", json={"query": "双随机抽查", "sources": [DONGE_REPORT] * 400}).json()
    assert [h["chunk_id"] for h in repeated["hits"]] == [h["chunk_id"] for h in once["hits"]]
    message = _error(client.post("/v1/search", json={"query": "双随机抽查", "sources": [DONGE_REPORT] * 30_000}), 422)
    assert "sources" in message


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", '{"query": "双随机\\ud800"}'),
        ("/v1/search", '{"query": "双随机", "sources": ["\\udfff.txt"]}'),
        ("/v1/ask", '{"question": "\\ud800"}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "双随机\\ud800"}]}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\ud800"}]}]}'),
        ("/v1/chat/completions", '{"model": "\\ud800", "messages": [{"role": "user", "content": "双随机"}]}'),
    ],
)
def test_a_lone_surrogate_is_a_400_with_the_error_body(client, path, body) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert "Unicode" in _error(response, 400)
    assert len(response.content) < 500, "no traceback"


def test_a_short_follow_up_after_a_long_message_is_answered(client) -> None:
    long_turn = "请介绍一下机构编制工作。" * 1700 + "东阿县开展了几次双随机抽查？"
    messages = [
        {"role": "user", "content": long_turn},
        {"role": "assistant", "content": "……"},
        {"role": "user", "content": "抽查了多少部门呢？"},
    ]
    response = client.post("/v1/chat/completions", json={"messages": messages})
    assert response.status_code == 200, response.text
    assert "[1]" in response.json()["choices"][0]["message"]["content"]


def test_a_question_over_the_limit_is_refused_before_it_is_analysed(client) -> None:
    messages = [{"role": "user", "content": "双" * 20_000}]
    assert "1000" in _error(client.post("/v1/chat/completions", json={"messages": messages}), 400)


def test_surrogate_free_text_still_passes(client) -> None:
    body = json.dumps({"query": "😀 双随机"})  # an astral character is escaped as a valid surrogate pair
    assert client.post("/v1/search", content=body, headers={"content-type": "application/json"}).status_code == 200


def test_headers_over_the_limit_get_431_with_the_error_body(client) -> None:
    response = client.post("/v1/search", json={"query": "双随机"}, headers={"Authorization": "Bearer " + "k" * 100_000})
    assert response.status_code == 431 and response.json()["error"]["code"] == "headers_too_large"


def test_a_client_that_sends_the_whole_body_first_gets_the_413(live_url) -> None:
    # urllib writes the whole body before it reads: the 413 must wait for it, not reset the connection
    request = urllib.request.Request(
        f"{live_url}/v1/search",
        data=b'{"query": "' + b"x" * (3 << 20) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413 and json.loads(refused.value.read())["error"]["code"] == "payload_too_large"


def test_an_upload_without_the_admin_key_is_refused_before_its_body_is_read(real_index, tmp_path) -> None:
    env = {
        "RAGQA_INDEX_DIR": str(real_index.index_dir),
        "RAGQA_CORPUS_DIR": str(real_index.corpus_dir),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
        "RAGQA_ADMIN_API_KEYS": "admin-key-1",
    }
    with running_service(env, tmp_path / "service.log") as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 19000000\r\n\r\n"
                b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
            )  # the other 19 MB never come: the answer must not wait for them
            reply = b""
            while b'"unauthorized"' not in reply and (part := sock.recv(65536)):
                reply += part
    assert reply.startswith(b"HTTP/1.1 401") and b'"unauthorized"' in reply


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"query": "东阿县" + "双随机抽查" * 150}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "东阿县" + "双随机抽查" * 150}]}),
    ],
)
def test_long_questions_are_analysed_off_the_event_loop(client, monkeypatch, path, body) -> None:
    on_loop: list[bool] = []
    original = LoadedIndex.analyze

    def recording(self, text):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return original(self, text)

    monkeypatch.setattr(LoadedIndex, "analyze", recording)
    assert client.post(path, json=body).status_code == 200
    assert on_loop and not any(on_loop)
