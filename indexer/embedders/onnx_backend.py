"""Sentence embeddings with ONNX Runtime: the model exported once (see onnx_export), run without torch."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when the export's contents change, so old exports are redone


class OnnxEmbedder:
    """Mean- or CLS-pooled, L2-normalised embeddings from an ONNX export of a sentence-transformers model."""

    def __init__(
        self, model: str, *, int8: bool = True, batch_size: int = 32, token_budget: int = 1024, threads: int = 0
    ) -> None:
        self.name = model
        self.batch_invariant = not int8
        self.batch_size = batch_size
        self.token_budget = token_budget
        path = ensure_export(model, int8=int8)
        export = json.loads((path.parent / "export.json").read_text())
        self.dimension = int(export["dimension"])
        self._pooling = export["pooling"]
        self._tokenizer = Tokenizer.from_file(str(path.parent / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(export["max_length"]))
        self._tokenizer.enable_padding(pad_id=int(export["pad_token_id"]))
        options = ort.SessionOptions()
        # One request's matrix products use every core; parallel sessions would only contend.
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for batch in length_batches([len(text) for text in texts], self.batch_size, self.token_budget):
            vectors[batch] = self._embed_batch([texts[i] for i in batch])
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_batch([text])[0]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def length_batches(lengths: Sequence[int], max_size: int, token_budget: int) -> list[list[int]]:
    """Indexes grouped by similar length, each group padding to at most `token_budget` tokens.

    Sorting by length keeps padding small; the budget keeps batches of long texts small, which on
    a 2-core CPU runs faster than one big padded matrix (the attention's memory outgrows the cache).
    Characters stand in for tokens: one Chinese character is about one token.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        padded = (len(current) + 1) * (lengths[index] + 2)  # +2: [CLS] and [SEP]
        if current and (len(current) == max_size or padded > token_budget):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def export_dir(model: str) -> Path:
    """`<model folder>/onnx`, or beside the Hugging Face cache's snapshot for a model name."""
    path = Path(model)
    if path.is_dir():
        return path / "onnx"
    from huggingface_hub import snapshot_download  # only for hub names

    return Path(snapshot_download(model)) / "onnx"


def ensure_export(model: str, *, int8: bool) -> Path:
    """The ONNX file for `model`, exported on first use; concurrent callers (workers) wait for one export."""
    folder = export_dir(model)
    target = folder / ("model_qint8.onnx" if int8 else "model.onnx")
    if _complete(folder):
        return target
    with (folder.parent / ".onnx-export.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _complete(folder):
            from indexer.embedders.onnx_export import export  # torch and transformers: needed for the export only

            export(model, folder, EXPORT_FORMAT)
    return target


def _complete(folder: Path) -> bool:
    try:
        return json.loads((folder / "export.json").read_text())["format"] == EXPORT_FORMAT
    except (OSError, ValueError, KeyError):
        return False
