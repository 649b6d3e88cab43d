"""Real client libraries nobody here wrote, against the real server on loopback (issue 15):
langchain-openai with and without the Responses API, llama-index's OpenAILike in both modes."""

import pytest

QUESTION = "东阿县开展了几次双随机抽查？"


@pytest.fixture(scope="module")
def base_url(live_url):
    return f"{live_url}/v1"


def test_langchain_chat_openai_invoke_and_stream(base_url) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=base_url, api_key="unused", model="gpt-4o-mini", max_retries=0)
    reply = llm.invoke(QUESTION)
    assert "7次" in reply.content and "[1]" in reply.content
    assert reply.response_metadata["model_name"] == "report-qa"
    streamed = "".join(chunk.content for chunk in llm.stream(QUESTION))
    assert streamed == reply.content


def test_langchain_with_the_responses_api_keeps_the_citations(base_url) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=base_url, api_key="unused", model="report-qa", use_responses_api=True, max_retries=0)
    reply = llm.invoke(QUESTION)
    blocks = [b for b in reply.content if isinstance(b, dict) and b.get("type") in ("text", "output_text")]
    assert blocks and "7次" in blocks[0]["text"]
    annotations = [a for b in blocks for a in b.get("annotations", [])]
    assert any(a.get("type") in ("url_citation", "citation") and a.get("url") for a in annotations), annotations


def test_llama_index_openai_like_default_and_chat(base_url) -> None:
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    completer = OpenAILike(model="report-qa", api_base=base_url, api_key="unused", max_retries=0)
    assert "7次" in completer.complete(QUESTION).text  # the default calls /v1/completions
    chatter = OpenAILike(model="report-qa", api_base=base_url, api_key="unused", is_chat_model=True, max_retries=0)
    assert "7次" in chatter.chat([ChatMessage(role="user", content=QUESTION)]).message.content
