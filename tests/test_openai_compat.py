"""The official openai client against the real server, and the optional upstream model on loopback."""

import re

import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from qa.reply import approximate_tokens
from service.app import create_app
from service.config import Settings
from tests.upstream import scripted_upstream

DONGE = "001_5545cfdd99bf609a.txt"
YUNCHENG = "002_aec6c92409b370db.txt"


@pytest.fixture(scope="module")
def client(live_url):
    return OpenAI(base_url=f"{live_url}/v1", api_key="unused", max_retries=0)


def test_models_list(client) -> None:
    assert [m.id for m in client.models.list().data] == ["report-qa"]


def test_non_streaming_completion_carries_markers_references_and_citations(client) -> None:
    completion = client.chat.completions.create(
        model="report-qa", messages=[{"role": "user", "content": "东阿县开展了几次双随机抽查？"}], temperature=0.2
    )
    content = completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop" and "7次" in content
    assert re.search(r"\[1\]", content) and "参考资料：" in content
    citations = completion.model_extra["citations"]
    assert citations and citations[0]["source"] == DONGE and {"start", "end", "quote"} <= set(citations[0])
    assert completion.usage.total_tokens > 0


def test_streaming_completion_ends_with_citations_and_done(client) -> None:
    stream = client.chat.completions.create(
        model="report-qa",
        messages=[{"role": "user", "content": "东阿县如何开展双随机检查"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)  # the client stops at data: [DONE]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert "随机" in text and "[1]" in text and len(chunks) > 3
    assert finals[-1].model_extra["citations"][0]["source"] == DONGE
    assert chunks[-1].usage is not None and not chunks[-1].choices


def test_a_follow_up_turn_is_answered_in_context(client) -> None:
    first = client.chat.completions.create(
        model="report-qa", messages=[{"role": "user", "content": "东阿县如何学习贯彻《条例》？"}]
    )
    follow_up = client.chat.completions.create(
        model="report-qa",
        messages=[
            {"role": "user", "content": "东阿县如何学习贯彻《条例》？"},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "那郓城县呢？"},
        ],
    )
    assert first.model_extra["citations"][0]["source"] == DONGE
    assert {c["source"] for c in follow_up.model_extra["citations"]} == {YUNCHENG}


def test_extra_fields_stop_and_max_tokens_are_accepted_and_used(client) -> None:
    completion = client.chat.completions.create(
        model="report-qa",
        messages=[{"role": "system", "content": "简洁"}, {"role": "user", "content": "东阿县开展了几次双随机抽查？"}],
        max_tokens=10,
        stop=["参考资料"],
        extra_body={"unknown_option": True, "top_k": 3},
    )
    content = completion.choices[0].message.content.rstrip()  # the stop sequence cut the references off
    assert completion.choices[0].finish_reason == "length" and "参考资料" not in content
    assert approximate_tokens(content) <= 10 < approximate_tokens(content + "随机抽查")


def test_a_request_without_user_text_is_a_json_error(client) -> None:
    from openai import BadRequestError

    with pytest.raises(BadRequestError):
        client.chat.completions.create(model="report-qa", messages=[{"role": "system", "content": "只有系统"}])


def _script(question: str) -> tuple[str, float]:
    if "双随机" in question:
        return "东阿县2019年以来共开展双随机7次[1]，另据资料[9]，抽查部门45个[2]。", 0.0
    if "口袋书" in question:
        return "这个回答不会及时返回[1]。", 5.0
    return "资料中未找到与该问题相关的内容。", 0.0


@pytest.fixture(scope="module")
def llm_app(real_index, real_embedder):
    with scripted_upstream(_script) as (url, received):
        settings = Settings(
            **real_index.model_dump(),
            build_on_start=False,
            reload_interval=0,
            llm_base_url=url,
            llm_model="scripted",
            llm_api_key="sk-test",
            llm_timeout=1.0,
        )
        with TestClient(create_app(settings, embedder=real_embedder)) as test_client:
            yield test_client, received


def test_the_grounded_prompt_holds_the_numbered_passages(llm_app) -> None:
    test_client, received = llm_app
    body = test_client.post("/v1/ask", json={"question": "东阿县开展了几次双随机抽查？"}).json()
    request = received[-1]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    system, user = request["messages"]
    assert "只能依据" in system["content"]
    assert "问题：东阿县开展了几次双随机抽查？" in user["content"]
    for number in range(1, len(body["passages"]) + 1):
        assert f"[{number}]" in user["content"]
    assert "共开展双随机7次" in user["content"]


def test_invalid_upstream_markers_are_removed(llm_app) -> None:
    test_client, _ = llm_app
    body = test_client.post("/v1/ask", json={"question": "东阿县开展了几次双随机抽查？"}).json()
    assert body["mode"] == "llm" and "[9]" not in body["answer"]
    assert body["answer"] == "东阿县2019年以来共开展双随机7次[1]，另据资料，抽查部门45个[2]。"
    assert [c["id"] for c in body["citations"]] == [1, 2]
    for citation in body["citations"]:
        text = test_client.get(f"/v1/documents/{citation['source']}").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_an_upstream_timeout_falls_back_to_the_extractive_answer(llm_app) -> None:
    test_client, _ = llm_app
    body = test_client.post("/v1/ask", json={"question": "东阿县向机关事业单位发放了多少本口袋书？"}).json()
    assert body["mode"] == "extractive" and body["answerable"] and "5000" in body["answer"]


def test_chat_reports_which_mode_answered(llm_app) -> None:
    test_client, _ = llm_app
    payload = {"model": "report-qa", "messages": [{"role": "user", "content": "东阿县开展了几次双随机抽查？"}]}
    assert test_client.post("/v1/chat/completions", json=payload).json()["answer_mode"] == "llm"


def test_an_unanswerable_question_never_reaches_the_upstream(llm_app) -> None:
    test_client, received = llm_app
    before = len(received)
    body = test_client.post("/v1/ask", json={"question": "如何办理护照？"}).json()
    assert body["answerable"] is False and len(received) == before
