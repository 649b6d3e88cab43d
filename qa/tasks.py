"""Chat frontends' background tasks, answered in the JSON they expect instead of as questions.

Open WebUI (and frontends copying its templates) sends, beside each user message, prompts that
start with "### Task:" and quote the conversation in <chat_history>: make a title, tags, follow-up
questions, search queries. Answered as questions they gave 400s (the prompt is long) or a refusal
where JSON was expected. Here each gets its JSON, made from the conversation's last question and
the passages the corpus retrieves for it: a title from the question, tags from the places and the
cited documents, follow-up questions about the retrieved passages' sections.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from indexer.datatypes import Hit
from qa.reply import clean_title

_TASK = re.compile(r"^\s*#+\s*Task:", re.IGNORECASE)
_HISTORY = re.compile(r"<chat_history>(?P<history>.*?)</chat_history>", re.DOTALL)
_USER_LINE = re.compile(r"^\s*USER:\s*(?P<text>.+)$", re.MULTILINE | re.IGNORECASE)
_KINDS = (  # how each template names its output, in the order they are told apart
    ("follow_ups", re.compile(r'"follow_ups"|follow-up questions', re.IGNORECASE)),
    ("tags", re.compile(r'"tags"', re.IGNORECASE)),
    ("title", re.compile(r'"title"|\btitle\b', re.IGNORECASE)),
    ("queries", re.compile(r'"queries"|search quer', re.IGNORECASE)),
)
_NUMBERING = re.compile(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]\s*")
_TITLE_CHARS = 24
_TAG_CHARS = 12


@dataclass(frozen=True, slots=True)
class FrontendTask:
    kind: str  # title, tags, follow_ups, queries, or other
    question: str  # the conversation's last user question ("" when the history holds none)


def frontend_task(text: str) -> FrontendTask | None:
    """The background task a message asks for, or None for a message that is a question."""
    if not _TASK.match(text):
        return None
    history = _HISTORY.search(text)
    users = _USER_LINE.findall(history.group("history")) if history else []
    kind = next((name for name, pattern in _KINDS if pattern.search(text)), "other")
    return FrontendTask(kind, users[-1].strip() if users else "")


def task_reply(task: FrontendTask, search: Callable[[str], list[Hit]], places: Callable[[str], list[str]]) -> str:
    """The JSON text the task's template asks for; `search` retrieves passages for a question."""
    question = task.question.strip().rstrip("？?。!！")
    if task.kind == "title":
        return _json({"title": f"📄 {question[:_TITLE_CHARS]}" if question else "📄 报告问答"})
    if task.kind == "queries":
        return _json({"queries": [question] if question else []})
    hits = search(question) if question else []
    if task.kind == "tags":
        tags = [*places(question), *(_short(clean_title(h.chunk.title)) for h in hits[:3])]
        return _json({"tags": list(dict.fromkeys(t for t in tags if t))[:5]})
    if task.kind == "follow_ups":
        return _json({"follow_ups": _follow_ups(question, hits, places(question))})
    return _json({})


def _follow_ups(question: str, hits: list[Hit], places: list[str]) -> list[str]:
    """Questions about the retrieved passages' sections, which the corpus can therefore answer."""
    place = places[0] if places else ""
    asked = []
    for hit in hits:
        section = _NUMBERING.sub("", hit.chunk.section.split(" / ")[-1]).strip("：:。 ")
        if section and section not in question and 2 <= len(section) <= 30:
            asked.append(f"{place if place not in section else ''}{section}有哪些具体做法？")
    return list(dict.fromkeys(asked))[:3]


def _short(title: str) -> str:
    return title if len(title) <= _TAG_CHARS else title[:_TAG_CHARS]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
