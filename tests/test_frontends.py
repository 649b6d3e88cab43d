"""What chat frontends and SDKs read (issue 15): citation annotations, the Responses API, model
retrieval, legacy completions, the name of the answering model, and Open WebUI's background tasks."""

import json
import logging
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from openai import NotFoundError, OpenAI
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from qa.reply import clean_title
from service.app import create_app
from service.config import Settings

DONGE = "001_5545cfdd99bf609a.txt"
QUESTION = "东阿县开展了几次双随机抽查？"


@pytest.fixture(scope="module")
def client(live_url):
    return OpenAI(base_url=f"{live_url}/v1", api_key="unused", max_retries=0)


def _check_url_citation(url: str, title: str, live_url: str, http: httpx.Client) -> None:
    parsed = urlparse(url)
    assert url.startswith(live_url + "/?")
    params = parse_qs(parsed.query)
    document = http.get(f"{live_url}/v1/documents/{params['source'][0]}").json()
    assert title and title != params["source"][0] and not title.endswith(".txt")
    start, end = int(params["start"][0]), int(params["end"][0])
    assert 0 <= start < end <= len(document["text"])


def test_chat_citations_are_url_citation_annotations_on_the_message(client, live_url) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert completion.model == "report-qa", "the answering model is named, whatever the request said"
    message = completion.choices[0].message
    annotations = message.annotations
    assert annotations and all(a.type == "url_citation" for a in annotations)
    with httpx.Client() as http:
        for annotation in annotations:
            cited = annotation.url_citation
            assert message.content[cited.start_index : cited.end_index] in ("[1]", "[2]", "[3]")
            _check_url_citation(cited.url, cited.title, live_url, http)
    assert DONGE not in message.content, "references name documents by title, not by file name"


def test_streamed_chat_carries_the_annotations_on_a_delta(client) -> None:
    chunks = list(client.chat.completions.create(
        model="report-qa", messages=[{"role": "user", "content": QUESTION}], stream=True
    ))  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    found = [a for c in chunks if c.choices for a in (c.choices[0].delta.model_extra or {}).get("annotations", [])]
    assert found and found[0]["type"] == "url_citation"
    cited = found[0]["url_citation"]
    assert text[cited["start_index"] : cited["end_index"]] == "[1]"


def test_models_retrieve_and_an_unknown_model(client) -> None:
    assert client.models.retrieve("report-qa").id == "report-qa"
    with pytest.raises(NotFoundError):
        client.models.retrieve("gpt-4o")


def test_legacy_completions_answer_the_prompt(client) -> None:
    completion = client.completions.create(model="anything", prompt=QUESTION)
    assert completion.model == "report-qa" and "7次" in completion.choices[0].text
    streamed = "".join(c.choices[0].text for c in client.completions.create(model="x", prompt=QUESTION, stream=True))
    assert streamed == completion.choices[0].text


def test_responses_api_answer_with_url_and_file_citations(client, live_url) -> None:
    response = client.responses.create(model="gpt-4.1", input=QUESTION, instructions="简洁回答")
    assert response.model == "report-qa" and response.status == "completed"
    assert "7次" in response.output_text and "[1]" in response.output_text
    annotations = response.output[0].content[0].annotations
    kinds = {a.type for a in annotations}
    assert kinds == {"url_citation", "file_citation"}
    urls = [a for a in annotations if a.type == "url_citation"]
    with httpx.Client() as http:
        for annotation in urls:
            assert response.output_text[annotation.start_index : annotation.end_index].startswith("[")
            _check_url_citation(annotation.url, annotation.title, live_url, http)
    assert DONGE in {a.filename for a in annotations if a.type == "file_citation"}


def test_the_responses_body_validates_against_the_sdk_types(live_url) -> None:
    body = httpx.post(f"{live_url}/v1/responses", json={"model": "x", "input": QUESTION}, timeout=30).json()
    assert Response.model_validate(body).output[0].content[0].type == "output_text"
    chat = httpx.post(f"{live_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
    assert ChatCompletion.model_validate(chat.json()).choices[0].message.annotations


def test_responses_stream_in_the_standard_event_order(client) -> None:
    events = list(client.responses.create(model="report-qa", input=QUESTION, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]  # fmt: skip
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]  # fmt: skip
    assert "response.output_text.annotation.added" in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == events[-1].response.output_text


def test_responses_follow_up_through_the_input_history(client) -> None:
    response = client.responses.create(
        model="report-qa",
        input=[
            {"role": "user", "content": "东阿县如何学习贯彻《条例》？"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "……"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "那郓城县呢？"}]},
        ],
    )
    assert "郓城" in response.output_text


OPEN_WEBUI_TASKS = {
    "title": "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n"
    '### Output:\nJSON format: { "title": "your concise title here" }\n### Chat History:\n<chat_history>\n'
    "USER: 东阿县如何开展双随机检查\nASSISTANT: 东阿县……[1]\n</chat_history>",
    "tags": "### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, along with 1-3 "
    'more specific subtopic tags.\n### Output:\nJSON format: { "tags": ["tag1", "tag2", "tag3"] }\n'
    "### Chat History:\n<chat_history>\nUSER: 东阿县如何开展双随机检查\nASSISTANT: ……\n</chat_history>",
    "follow_ups": "### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask "
    'next in this conversation.\n### Output:\nJSON format: { "follow_ups": ["Question 1?", "Question 2?"] }\n'
    "### Chat History:\n<chat_history>\nUSER: 东阿县如何开展双随机检查\nASSISTANT: ……\n</chat_history>",
    "queries": "### Task:\nAnalyze the chat history to determine the necessity of generating search queries, in the "
    'given language.\n- respond in the format: { "queries": ["query1", "query2"] }\n### Chat History:\n'
    "<chat_history>\nUSER: 东阿县如何开展双随机检查\n</chat_history>",
}


@pytest.mark.parametrize("kind", sorted(OPEN_WEBUI_TASKS))
def test_open_webui_background_tasks_get_the_json_they_expect(client, kind) -> None:
    completion = client.chat.completions.create(
        model="report-qa", messages=[{"role": "user", "content": OPEN_WEBUI_TASKS[kind]}]
    )
    value = json.loads(completion.choices[0].message.content)[kind]
    assert value, kind
    if kind == "title":
        assert "双随机" in value
    elif kind == "queries":
        assert value == ["东阿县如何开展双随机检查"]
    elif kind == "tags":
        assert "东阿县" in value
    else:
        assert all(q.endswith("？") and "\n" not in q for q in value)


def test_each_chat_and_responses_request_is_logged_without_content(real_index, real_embedder, caplog) -> None:
    caplog.set_level(logging.INFO, logger="service.conversation")
    settings = Settings(**real_index.model_dump(), build_on_start=False, api_keys=["secret-key-1"])
    with TestClient(create_app(settings, embedder=real_embedder)) as test_client:
        headers = {"Authorization": "Bearer secret-key-1"}
        test_client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]},
                         headers=headers)  # fmt: skip
        test_client.post("/v1/responses", json={"input": QUESTION}, headers=headers)
    lines = [r.getMessage() for r in caplog.records if r.name == "service.conversation"]
    assert [line.split()[0] for line in lines] == ["chat", "responses"]
    assert all("answerable=True" in line and "latency_ms=" in line and "question_chars=14" in line for line in lines)
    assert not any(QUESTION in line or "secret-key-1" in line for line in lines)


def test_a_long_title_is_cut_after_its_last_whole_clause() -> None:
    indexed = "山东聊城东阿县委编办高度重视机构编制法治建设,认真宣传贯彻落实《中国共产党机构编"  # cut at 40
    assert clean_title(indexed) == "山东聊城东阿县委编办高度重视机构编制法治建设"
    assert clean_title("一" * 40) == "一" * 30 + "…"  # no clause to cut at
    assert clean_title("国务院关于优化营商环境的意见") == "国务院关于优化营商环境的意见"
