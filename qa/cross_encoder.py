"""A cross-encoder: question and passage read together by one transformer, a relevance logit out.

Fine-tuned here from m3e-small's weights (`python -m training cross-encoder`) and shipped as int8
ONNX beside the LightGBM model (qa/models/cross_encoder: a derivative of m3e-small, under its non-commercial
licence); served with ONNX Runtime and tokenizers only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from indexer.chunking import split_sentences
from indexer.datatypes import Chunk
from qa.features import Corpus, question_terms
from qa.query import Query
from qa.settings import QASettings

MODEL_FILE = "model_qint8.onnx"
DEFAULT_CROSS_ENCODER = Path(__file__).with_name("models") / "cross_encoder"
_QUESTION_CHARS = 96  # a longer question is cut: the passage must keep most of the window


def passage_text(chunk: Chunk, weights: Mapping[str, float] | None = None, room: int | None = None) -> str:
    """What the cross-encoder reads of a chunk: its document title, section and text (normalised). Given the
    question's words with their weights and the characters the model has room for, a text too long for them is
    cut to as many characters as fit from the sentence start whose window holds the most of the question's
    weight (the earliest of equals), not to its head: the passage's end is where the answer often is, and the
    head is what every passage of a section shares."""
    head = "｜".join(part for part in (chunk.title, chunk.section) if part)
    text = chunk.normalized
    if weights and room is not None and len(head) + 1 < room < len(head) + 1 + len(text):
        text = _best_window(text, weights, room - len(head) - 1)
    return "｜".join(part for part in (head, text) if part)


def passage_texts(query: Query, corpus: Corpus, chunks: Sequence[Chunk], room: int) -> list[str]:
    """What the cross-encoder reads of each chunk for the query, a model with `room` characters beside it:
    `passage_text` cut to the sentences holding the question's words (IDF-weighted)."""
    terms, weights = question_terms(query, corpus)
    asked = dict(zip(terms, weights.tolist(), strict=True))
    return [passage_text(chunk, asked, room) for chunk in chunks]


def passage_room(tokenizer: Tokenizer, max_length: int, question: str) -> int:
    """About how many characters of passage a model of `max_length` tokens reads beside the question (one token
    a character for Chinese text, a little more for figures and Latin words; three special tokens)."""
    return max_length - 3 - len(tokenizer.encode(question[:_QUESTION_CHARS], add_special_tokens=False).ids)


def _best_window(text: str, weights: Mapping[str, float], width: int) -> str:
    """The `width` characters of `text` from the sentence start that covers the most of `weights`."""
    starts = [start for start, _ in split_sentences(text)] or [0]  # a closing quote ends its sentence
    best, best_weight = 0, -1.0
    for start in starts:
        window = text[start : start + width]
        held = sum(w for term, w in weights.items() if term in window)
        if held > best_weight:
            best, best_weight = start, held
    return text[best : best + width]


class CrossEncoderUnavailable(RuntimeError):
    """The configured cross-encoder folder cannot be loaded (missing, incomplete or not matching its card)."""


def from_settings(settings: QASettings) -> CrossEncoder | None:
    """The configured cross-encoder (the shipped one unless another folder is named), or None when it is off."""
    if not settings.cross_encoder:
        return None
    return CrossEncoder(settings.cross_encoder_model or DEFAULT_CROSS_ENCODER, threads=settings.embedding_threads)


def sentence_model_from_settings(settings: QASettings) -> CrossEncoder | None:
    """The cross-encoder of its own that rescores answer sentences, or None when there is none to load (the
    cross-encoder off, no sentences rescored or no folder named: then the passage model scores them, if any)."""
    folder = settings.cross_encoder_sentence_model
    if not (settings.cross_encoder and settings.cross_encoder_sentences > 1 and folder):
        return None
    return CrossEncoder(folder, threads=settings.embedding_threads, setting="RAGQA_CROSS_ENCODER_SENTENCE_MODEL")


class CrossEncoder:
    """Scores (question, passage) pairs; a few per query, in one batch."""

    def __init__(self, folder: Path, *, threads: int = 0, setting: str = "RAGQA_CROSS_ENCODER_MODEL") -> None:
        self.folder = folder
        try:
            card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
            model = (folder / MODEL_FILE).read_bytes()
            if hashlib.sha256(model).hexdigest() != card["sha256"]:
                raise ValueError(f"{MODEL_FILE} does not match the sha256 of card.json")
            self.max_length = int(card["max_length"])
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # whatever the files hold, the service says which folder and how to go on
            raise CrossEncoderUnavailable(
                f"cannot load the cross-encoder in {folder}: {exc} (RAGQA_CROSS_ENCODER=false turns it off, "
                f"{setting} names another folder)"
            ) from exc
        self._tokenizer.enable_truncation(self.max_length, strategy="only_second")
        self._tokenizer.enable_padding()

    def room(self, question: str) -> int:
        """About how many characters of passage the model reads beside the question."""
        return passage_room(self._tokenizer, self.max_length, question)

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        """One logit per passage (higher is more relevant)."""
        if not passages:
            return np.zeros(0)
        encoded = self._tokenizer.encode_batch([(question[:_QUESTION_CHARS], p) for p in passages])
        feeds = {
            "input_ids": np.asarray([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encoded], dtype=np.int64),
        }
        return np.asarray(self._session.run(None, feeds)[0], dtype=np.float64).reshape(-1)
