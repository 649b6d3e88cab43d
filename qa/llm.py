"""Optional upstream language model (any OpenAI-compatible server) writing grounded, cited answers."""

from __future__ import annotations

import logging
import re

import httpx

from indexer.datatypes import Hit
from indexer.normalize import display_text

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "你是政府工作报告问答助手。只能依据用户提供的编号资料回答问题，不得使用资料以外的知识，不得编造。"
    "每一句话末尾用方括号标注所依据资料的编号，例如[1]或[2]；只能使用给出的编号。"
    "如果资料不足以回答问题，只回答：资料中未找到与该问题相关的内容。"
    "用与问题相同的语言和字体（简体或繁体）回答，简洁准确。"
)
_MARKER = re.compile(r"[\[【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")


class UpstreamError(RuntimeError):
    """The upstream model failed, timed out or answered in an unexpected shape."""


class UpstreamLLM:
    """A client of one OpenAI-compatible chat server; one per process, closed with the service."""

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def complete(self, messages: list[dict[str, str]], temperature: float | None, max_tokens: int | None) -> str:
        body: dict = {"model": self.model, "messages": messages, "stream": False}
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        try:
            response = self._client.post("/chat/completions", json=body)
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise UpstreamError(f"upstream model failed: {type(exc).__name__}") from exc
        if not isinstance(content, str) or not content.strip():
            raise UpstreamError("upstream model returned no text")
        return content

    def close(self) -> None:
        self._client.close()


def grounded_prompt(question: str, passages: list[Hit]) -> list[dict[str, str]]:
    """The chat messages: rules, then the numbered passages and the question."""
    blocks = []
    for number, hit in enumerate(passages, start=1):
        heading = " · ".join(part for part in (hit.chunk.title, hit.chunk.section) if part)
        blocks.append(f"[{number}] {heading}\n{display_text(hit.chunk.text).strip()}")
    user = "资料：\n\n" + "\n\n".join(blocks) + f"\n\n问题：{question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def checked_markers(text: str, passage_count: int) -> tuple[str, list[int]]:
    """Keep markers that name a given passage, renumbered 1..k by first use; drop the rest.

    Returns the rewritten text and, for new marker i, the passage number (1-based) it cites.
    """
    order: list[int] = []

    def rewrite(match: re.Match[str]) -> str:
        kept = []
        for number in (int(n) for n in re.split(r"\s*[,，、]\s*", match.group(1))):
            if 1 <= number <= passage_count:
                if number not in order:
                    order.append(number)
                kept.append(f"[{order.index(number) + 1}]")
            else:
                logger.info("dropped marker [%d]: only %d passages were given", number, passage_count)
        return "".join(kept)

    rewritten = _MARKER.sub(rewrite, text)
    return re.sub(r"[ \t]+([。，；！？])", r"\1", rewritten).strip(), order
