"""A cross-encoder: question and passage read together by one transformer, a relevance logit out.

Fine-tuned here from m3e-small's weights (`python -m training cross-encoder`) and shipped as int8
ONNX beside the LightGBM model (qa/models/cross_encoder: a derivative of m3e-small, under its non-commercial
licence); served with ONNX Runtime and tokenizers only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from indexer.datatypes import Chunk

MODEL_FILE = "model_qint8.onnx"
DEFAULT_CROSS_ENCODER = Path(__file__).with_name("models") / "cross_encoder"
_QUESTION_CHARS = 96  # a longer question is cut: the passage must keep most of the window


def passage_text(chunk: Chunk) -> str:
    """What the cross-encoder reads of a chunk: its document title, section and text (normalised)."""
    return "｜".join(part for part in (chunk.title, chunk.section, chunk.normalized) if part)


class CrossEncoder:
    """Scores (question, passage) pairs; a few per query, in one batch."""

    def __init__(self, folder: Path, *, threads: int = 0) -> None:
        card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
        self.folder = folder
        self.max_length = int(card["max_length"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
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
