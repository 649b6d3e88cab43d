"""A cross-encoder: question and passage read together by one transformer, a relevance logit out.

Fine-tuned here from m3e-small's weights (`python -m training cross-encoder`) and shipped as int8
ONNX beside the LightGBM model (qa/models/cross_encoder: a derivative of m3e-small, under its non-commercial
licence); served with ONNX Runtime and tokenizers only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from indexer.datatypes import Chunk
from qa.settings import QASettings

MODEL_FILE = "model_qint8.onnx"
DEFAULT_CROSS_ENCODER = Path(__file__).with_name("models") / "cross_encoder"
_QUESTION_CHARS = 96  # a longer question is cut: the passage must keep most of the window


def passage_text(chunk: Chunk) -> str:
    """What the cross-encoder reads of a chunk: its document title, section and text (normalised)."""
    return "｜".join(part for part in (chunk.title, chunk.section, chunk.normalized) if part)


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
