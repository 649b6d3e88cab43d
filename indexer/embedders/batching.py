"""Micro-batching of concurrent query embeddings: one model call for every query waiting at that moment.

Request threads hand their query to one worker thread and wait. The worker embeds whatever has
queued up while the previous batch ran, so a lone query is never delayed and eight concurrent
queries cost one padded batch instead of eight calls contending for the same two cores.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from indexer.embedders.base import Embedder

logger = logging.getLogger(__name__)


class BatchingEmbedder:
    """An Embedder whose embed_query calls from many threads are embedded together."""

    batch_invariant = True

    def __init__(self, embedder: Embedder, *, max_batch: int = 32) -> None:
        if not embedder.batch_invariant:
            raise ValueError(f"{embedder.name}: its vectors depend on the batch, so queries cannot share one")
        self.inner = embedder
        self.name = embedder.name
        self.dimension = embedder.dimension
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]]] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="query-embedding", daemon=True)
        self._worker.start()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        return future.result()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                vectors = self.inner.embed_documents([text for text, _ in batch])
            except Exception as exc:  # every waiting request gets the error, the worker lives on
                logger.exception("query embedding failed")
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)
