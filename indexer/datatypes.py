"""Frozen value types shared by the indexer, the service and the evaluation suite."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Document:
    source: str  # path relative to the corpus root, "/" separated
    title: str
    text: str  # the original text exactly as decoded from the file
    sha256: str  # of the file's bytes


@dataclass(frozen=True, slots=True)
class Chunk:
    chunk_id: str  # f"{source}#{position}", stable while the file is unchanged
    source: str
    position: int
    title: str
    section: str  # the heading the chunk sits under ("" before the first heading)
    start: int  # code-point offsets into the ORIGINAL Document.text:
    end: int  # document.text[start:end] == text, always
    text: str
    normalized: str  # what the indexes see: Simplified, no pinyin, NFKC, folded whitespace

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Chunk:
        return cls(**data)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: Chunk
    score: float  # higher is better; comparable within one result list
