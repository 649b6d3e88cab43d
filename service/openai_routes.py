"""OpenAI-compatible routes: GET /v1/models and POST /v1/chat/completions (JSON or Server-Sent Events)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from qa.answer import Answer
from qa.chat import Message, apply_limits, question_in_context, reply_text, stream_pieces
from service.deps import IndexDep
from service.errors import InvalidRequest
from service.openai_schemas import (
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    Usage,
)
from service.schemas import MAX_QUERY_CHARS

router = APIRouter()
_STARTED = int(time.time())


@router.get("/v1/models", response_model=ModelList)
def list_models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_ID, created=_STARTED)])


_STREAM = {
    "description": "with `stream: true`: chat.completion.chunk events, then `data: [DONE]`",
    "content": {"text/event-stream": {}},
}  # events are JSON chunks, then the text [DONE]


@router.post("/v1/chat/completions", response_model=ChatCompletion, responses={200: _STREAM})
async def chat_completions(request: ChatCompletionRequest, index: IndexDep):
    messages = [Message(m.role, m.text()) for m in request.messages]
    try:  # segmenting and place-tagging up to 1,200 characters: off the event loop
        query = await run_in_threadpool(question_in_context, messages, index.analyze, max_chars=MAX_QUERY_CHARS)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    answer = await run_in_threadpool(
        index.answerer.answer, query, request.top_k, temperature=request.temperature, max_tokens=request.token_limit()
    )
    content, finish = apply_limits(reply_text(answer), request.token_limit(), request.stop_sequences())
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    usage = _usage(messages, content)
    if request.stream:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        final_usage = usage if include_usage else None
        events = _events(completion_id, created, request.model, content, finish, answer, final_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=request.model,
        choices=[Choice(message=AssistantMessage(content=content), finish_reason=finish)],
        usage=usage,
        citations=_citations(answer),
        answer_mode=answer.mode,
    )


def _events(
    completion_id: str, created: int, model: str, content: str, finish: str, answer: Answer, usage: Usage | None
) -> Iterator[str]:
    def chunk(delta: dict, finish_reason: str | None = None, **extra) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in stream_pieces(content):
        yield chunk({"content": piece})
    yield chunk({}, finish, citations=_citations(answer), answer_mode=answer.mode)
    if usage is not None:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [], "usage": usage.model_dump()}  # fmt: skip
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


def _citations(answer: Answer) -> list[dict]:
    return [
        {"id": c.id, "source": c.source, "chunk_id": c.chunk_id, "start": c.start, "end": c.end, "quote": c.quote}
        for c in answer.citations
    ]


def _usage(messages: list[Message], content: str) -> Usage:
    """Characters stand in for tokens: no tokenizer of the client's model is at hand."""
    prompt = sum(len(m.text) for m in messages)
    return Usage(prompt_tokens=prompt, completion_tokens=len(content), total_tokens=prompt + len(content))
