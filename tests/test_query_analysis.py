"""One request analyses its question once: normalised, tokenised, place-tagged and embedded at most once."""

from collections import Counter

import pytest
from fastapi.testclient import TestClient

import qa.query
from service.app import create_app
from service.config import Settings


@pytest.fixture
def counted(monkeypatch) -> Counter:
    """Counts the calls of each analysis step that qa.query makes."""
    calls: Counter = Counter()
    for name in ("normalize_query", "segment", "words", "places"):
        original = getattr(qa.query, name)

        def counting(text: str, _original=original, _name=name):
            calls[_name] += 1
            return _original(text)

        monkeypatch.setattr(qa.query, name, counting)
    return calls


@pytest.fixture
def client(fake_index):
    settings, embedder = fake_index
    app_settings = Settings(**settings.model_dump(), build_on_start=False, reload_interval=0, query_cache=0)
    with TestClient(create_app(app_settings, embedder=embedder)) as test_client:
        yield test_client, embedder


def test_one_ask_analyses_its_question_once(client, counted) -> None:
    test_client, embedder = client
    response = test_client.post("/v1/ask", json={"question": "东阿县如何开展双随机检查？"})
    assert response.status_code == 200 and response.json()["answerable"]
    assert counted == {"normalize_query": 1, "segment": 1, "words": 1, "places": 1}


def test_one_ask_embeds_its_question_once(client) -> None:
    test_client, embedder = client
    test_client.post("/v1/ask", json={"question": "东阿县如何开展双随机检查？"})  # caches the answer sentences
    before = embedder.embedded
    test_client.post("/v1/ask", json={"question": "東阿縣如何開展雙隨機檢查？"})  # same passages, query cache off
    assert embedder.embedded - before == 1


def test_one_chat_turn_analyses_its_question_once(client, counted) -> None:
    test_client, _ = client
    body = {"model": "report-qa", "messages": [{"role": "user", "content": "东阿县如何开展双随机检查？"}]}
    assert test_client.post("/v1/chat/completions", json=body).status_code == 200
    assert counted == {"normalize_query": 1, "segment": 1, "words": 1, "places": 1}


def test_a_search_never_computes_what_it_does_not_use(client, counted) -> None:
    test_client, embedder = client
    before = embedder.embedded
    body = {"query": "东阿县如何开展双随机检查", "mode": "lexical"}
    assert test_client.post("/v1/search", json=body).status_code == 200
    assert counted == {"normalize_query": 1, "segment": 1, "places": 1}  # no key terms, no embedding
    assert embedder.embedded == before
