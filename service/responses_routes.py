"""The OpenAI Responses API (POST /v1/responses): JSON, or the standard stream of events.

Stateless: follow-ups come through the input history (a `previous_response_id` is refused with the
reason). The answer is one `output_text` part whose annotations are the citations, as `url_citation`
(opening the passage on our page) and `file_citation` (naming the source file).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from qa.chat import Message, stream_pieces
from qa.reply import approximate_tokens
from service.conversation import Turn, converse
from service.deps import IndexDep
from service.errors import InvalidRequest
from service.openai_schemas import MODEL_ID, ResponsesRequest

router = APIRouter()


@router.post("/v1/responses", responses={200: {"content": {"text/event-stream": {}}}})
async def create_response(body: ResponsesRequest, index: IndexDep, request: Request):
    if body.previous_response_id:
        raise InvalidRequest("responses are not stored here: send the conversation in `input` instead")
    messages = [Message(role, text) for role, text in body.messages()]
    turn = await converse(
        "responses", request, messages, index, temperature=body.temperature, max_tokens=body.max_output_tokens
    )
    prompt = "\n".join(filter(None, [body.instructions or "", *(m.text for m in messages)]))
    response = _Response(body, turn, approximate_tokens(prompt))
    if body.stream:
        return StreamingResponse(
            response.events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    return response.body(complete=True)


def output_annotations(turn: Turn) -> list[dict[str, Any]]:
    annotations: list[dict[str, Any]] = []
    for cited in turn.cited:
        reference = cited.reference
        annotations.append({"type": "url_citation", "url": cited.url, "title": reference.title,
                            "start_index": reference.start, "end_index": reference.end})  # fmt: skip
        source = reference.citation.source
        annotations.append({"type": "file_citation", "file_id": source, "filename": source, "index": reference.end})
    return annotations


class _Response:
    """One response object, whole or as the event sequence that builds it."""

    def __init__(self, request: ResponsesRequest, turn: Turn, input_tokens: int) -> None:
        self.request = request
        self.turn = turn
        self.input_tokens = input_tokens
        self.id = f"resp_{uuid.uuid4().hex}"
        self.message_id = f"msg_{uuid.uuid4().hex}"
        self.created = int(time.time())

    def part(self, complete: bool) -> dict[str, Any]:
        text, annotations = (self.turn.text, output_annotations(self.turn)) if complete else ("", [])
        return {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}

    def item(self, complete: bool) -> dict[str, Any]:
        return {
            "type": "message",
            "id": self.message_id,
            "status": "completed" if complete else "in_progress",
            "role": "assistant",
            "content": [self.part(True)] if complete else [],
        }

    def body(self, complete: bool) -> dict[str, Any]:
        cut = self.turn.finish_reason == "length"
        output_tokens = approximate_tokens(self.turn.text)
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": ("incomplete" if cut else "completed") if complete else "in_progress",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if complete and cut else None,
            "instructions": self.request.instructions,
            "max_output_tokens": self.request.max_output_tokens,
            "model": MODEL_ID,
            "output": [self.item(True)] if complete else [],
            "parallel_tool_calls": False,
            "previous_response_id": None,
            "temperature": self.request.temperature,
            "top_p": self.request.top_p,
            "text": {"format": {"type": "text"}},
            "tool_choice": "none",
            "tools": [],
            "truncation": "disabled",
            "metadata": {},
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + output_tokens,
            }
            if complete
            else None,
            "citations": self.turn.citations if complete else [],  # the /v1/ask shape (extension)
        }

    def events(self) -> Iterator[str]:
        sequence = 0

        def event(kind: str, **fields: Any) -> str:
            nonlocal sequence
            sequence += 1
            payload = {"type": kind, "sequence_number": sequence - 1, **fields}
            return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"

        where = {"item_id": self.message_id, "output_index": 0, "content_index": 0}
        yield event("response.created", response=self.body(complete=False))
        yield event("response.in_progress", response=self.body(complete=False))
        yield event("response.output_item.added", output_index=0, item=self.item(complete=False))
        yield event("response.content_part.added", **where, part=self.part(complete=False))
        for piece in stream_pieces(self.turn.text):
            yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
        for number, annotation in enumerate(output_annotations(self.turn)):
            yield event(
                "response.output_text.annotation.added", **where, annotation_index=number, annotation=annotation
            )
        yield event("response.output_text.done", **where, text=self.turn.text, logprobs=[])
        yield event("response.content_part.done", **where, part=self.part(complete=True))
        yield event("response.output_item.done", output_index=0, item=self.item(complete=True))
        final = "response.incomplete" if self.turn.finish_reason == "length" else "response.completed"
        yield event(final, response=self.body(complete=True))
