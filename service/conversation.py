"""One conversational turn for the OpenAI-compatible endpoints (chat, responses, completions): the
frontend's background task or the question in context, answered, composed as reply text with its
references, each with a link that opens the cited passage on our page; one log line per turn."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from qa.chat import Message, question_in_context
from qa.loaded import LoadedIndex
from qa.reply import Reference, compose_reply
from qa.tasks import frontend_task, task_reply
from service.config import Settings
from service.errors import InvalidRequest
from service.schemas import MAX_QUERY_CHARS

logger = logging.getLogger(__name__)
_TASK_PASSAGES = 5


@dataclass(frozen=True, slots=True)
class Cited:
    """A reference with the URL that opens its passage highlighted on the service's page."""

    reference: Reference
    url: str


@dataclass(frozen=True, slots=True)
class Turn:
    text: str
    finish_reason: str
    cited: list[Cited]
    answerable: bool
    mode: str  # extractive, llm, or task (a frontend's background task)
    citations: list[dict]  # the /v1/ask citation shape, for the top-level `citations` extension


async def converse(
    endpoint: str,
    request: Request,
    messages: list[Message],
    index: LoadedIndex,
    *,
    top_k: int = 5,
    temperature: float | None = None,
    max_tokens: int | None = None,
    stop: list[str] | None = None,
) -> Turn:
    started = time.perf_counter()
    users = [m.text for m in messages if m.role == "user" and m.text.strip()]
    task = frontend_task(users[-1]) if users else None
    if task is not None:
        text = await run_in_threadpool(task_reply, task, lambda q: _passages(index, q), _places(index))
        turn = Turn(text, "stop", [], True, "task", [])
        _log(endpoint, len(task.question), turn, started)
        return turn
    try:  # segmenting and place-tagging up to 1,200 characters: off the event loop
        query = await run_in_threadpool(question_in_context, messages, index.analyze, max_chars=MAX_QUERY_CHARS)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    answer = await run_in_threadpool(
        index.answerer.answer, query, top_k, temperature=temperature, max_tokens=max_tokens
    )
    reply = compose_reply(answer, lambda source: index.document(source).title, max_tokens=max_tokens, stop=stop)
    base = _public_base(request)
    turn = Turn(
        text=reply.text,
        finish_reason=reply.finish_reason,
        cited=[Cited(r, passage_url(base, r)) for r in reply.references],
        answerable=answer.answerable,
        mode=answer.mode,
        citations=[
            {"id": c.id, "source": c.source, "chunk_id": c.chunk_id, "start": c.start, "end": c.end, "quote": c.quote}
            for c in answer.citations
        ],
    )
    _log(endpoint, len(query.text), turn, started)
    return turn


def passage_url(base: str, reference: Reference) -> str:
    """Our page, opening the cited passage highlighted: /?source=…&start=…&end=…"""
    citation = reference.citation
    query = urlencode({"source": citation.source, "start": citation.start, "end": citation.end}, quote_via=quote)
    return f"{base}/?{query}"


def _public_base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return (settings.public_url or str(request.base_url)).rstrip("/")


def _passages(index: LoadedIndex, question: str):
    return index.retriever.search(index.analyze(question), _TASK_PASSAGES, rerank=False)


def _places(index: LoadedIndex):
    return lambda question: list(index.analyze(question).places)


def _log(endpoint: str, question_chars: int, turn: Turn, started: float) -> None:
    # No content and no keys: lengths, outcome and time only.
    logger.info(
        "%s question_chars=%d answerable=%s mode=%s citations=%d latency_ms=%.1f",
        endpoint, question_chars, turn.answerable, turn.mode, len(turn.cited), (time.perf_counter() - started) * 1000,
    )  # fmt: skip
