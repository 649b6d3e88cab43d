"""OpenAI-compatible routes: models, Chat Completions (JSON or Server-Sent Events) and legacy Completions.

Replies carry [n] markers and a references list; each citation is also an OpenAI `url_citation`
annotation (on the message, or on a streamed delta) whose URL opens the passage on our page.
Every response names the model that answered (`report-qa`), whatever the request named.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from qa.chat import Message, stream_pieces
from qa.errors import NotFound
from qa.reply import approximate_tokens
from service.conversation import Turn, converse
from service.deps import IndexDep
from service.openai_schemas import (
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    Completion,
    CompletionChoice,
    CompletionRequest,
    ModelCard,
    ModelList,
    Usage,
)

router = APIRouter()
_STARTED = int(time.time())
_STREAM = {
    "description": "with `stream: true`: chat.completion.chunk events, then `data: [DONE]`",
    "content": {"text/event-stream": {}},
}  # events are JSON chunks, then the text [DONE]


@router.get("/v1/models", response_model=ModelList)
def list_models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_ID, created=_STARTED)])


@router.get("/v1/models/{model_id}", response_model=ModelCard, responses={404: {"description": "unknown model"}})
def retrieve_model(model_id: str) -> ModelCard:
    if model_id != MODEL_ID:
        raise NotFound(f"unknown model {model_id!r}; this service answers as {MODEL_ID!r}")
    return ModelCard(id=MODEL_ID, created=_STARTED)


@router.post("/v1/chat/completions", response_model=ChatCompletion, responses={200: _STREAM})
async def chat_completions(body: ChatCompletionRequest, index: IndexDep, request: Request):
    messages = [Message(m.role, m.text()) for m in body.messages]
    turn = await converse(
        "chat", request, messages, index, top_k=body.top_k, temperature=body.temperature,
        max_tokens=body.token_limit(), stop=body.stop_sequences(),
    )  # fmt: skip
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    usage = _usage("\n".join(m.text for m in messages), turn.text)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = _chat_events(completion_id, created, turn, usage if include_usage else None)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=MODEL_ID,
        choices=[
            Choice(
                message=AssistantMessage(content=turn.text, annotations=chat_annotations(turn)),
                finish_reason=turn.finish_reason,
            )
        ],  # fmt: skip
        usage=usage,
        citations=turn.citations,
        answer_mode=turn.mode,
    )


@router.post("/v1/completions", response_model=Completion, responses={200: {"content": {"text/event-stream": {}}}})
async def completions(body: CompletionRequest, index: IndexDep, request: Request):
    """The legacy shape (LlamaIndex's OpenAILike calls it by default): the prompt is the question."""
    turn = await converse(
        "completions", request, [Message("user", body.prompt_text())], index, temperature=body.temperature,
        max_tokens=body.max_tokens, stop=body.stop_sequences(),
    )  # fmt: skip
    completion_id = f"cmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        return StreamingResponse(_completion_events(completion_id, created, turn), media_type="text/event-stream")
    return Completion(
        id=completion_id,
        created=created,
        model=MODEL_ID,
        choices=[CompletionChoice(text=turn.text, finish_reason=turn.finish_reason)],
        usage=_usage(body.prompt_text(), turn.text),
    )


def chat_annotations(turn: Turn) -> list[dict]:
    return [
        {
            "type": "url_citation",
            "url_citation": {
                "url": c.url,
                "title": c.reference.title,
                "start_index": c.reference.start,
                "end_index": c.reference.end,
            },
        }
        for c in turn.cited
    ]


def _chat_events(completion_id: str, created: int, turn: Turn, usage: Usage | None) -> Iterator[str]:
    def chunk(delta: dict, finish_reason: str | None = None, **extra) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in stream_pieces(turn.text):
        yield chunk({"content": piece})
    if turn.cited:
        yield chunk({"annotations": chat_annotations(turn)})
    yield chunk({}, turn.finish_reason, citations=turn.citations, answer_mode=turn.mode)
    if usage is not None:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                "choices": [], "usage": usage.model_dump()}  # fmt: skip
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


def _completion_events(completion_id: str, created: int, turn: Turn) -> Iterator[str]:
    pieces = [*stream_pieces(turn.text)]
    for number, piece in enumerate(pieces, start=1):
        finish = turn.finish_reason if number == len(pieces) else None
        body = {"id": completion_id, "object": "text_completion", "created": created, "model": MODEL_ID,
                "choices": [{"text": piece, "index": 0, "logprobs": None, "finish_reason": finish}]}  # fmt: skip
        yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def _usage(prompt: str, content: str) -> Usage:
    """Approximate tokens (a CJK character about one): no tokenizer of the client's model is at hand."""
    prompt_tokens, completion = approximate_tokens(prompt), approximate_tokens(content)
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion, total_tokens=prompt_tokens + completion)
