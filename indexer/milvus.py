"""Milvus as the retrieval engine: each index version is one collection holding every chunk's dense
vector and its BM25 sparse vector (Milvus full-text search), keyed by row number; an alias names the
current version's collection.

Lexical matching stays identical to the FAISS set-up: Milvus analyses not the chunk's text but our own
normalised jieba tokens, each written as a short ASCII word (`w1a2`, its number in the version's
sorted vocabulary), which every Milvus analyser keeps whole. The chunk store (texts, offsets, tokens)
stays in the index folder beside the manifest, so a version is whole only when both exist: the build
writes the collection first and the manifest last, and readers query the collection named by the
version they loaded, never the alias, so a concurrent rebuild cannot mix two versions' rows.

`uri` is a file path (Milvus Lite, embedded, for development and tests) or `http://HOST:19530`
(Milvus standalone or cluster).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import grpc
import numpy as np
from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException

from indexer.dense import HNSW_EF_SEARCH
from indexer.errors import StoreUnavailable
from indexer.lexical import DocumentFrequencies

logger = logging.getLogger(__name__)

# A query not answered within this many seconds fails (503) instead of waiting out pymilvus's retries of an
# unreachable server (75 tries with back-off: minutes).
QUERY_TIMEOUT = 10.0
_INSERT_BATCH = 1000
_GET_BATCH = 1000
_HNSW = {"M": 32, "efConstruction": 200}  # as the FAISS HNSW index (and its efSearch)
_K1, _B = 1.2, 0.75
_MAX_TOKENS_TEXT = 65_535
_EMPTY = "w_"  # a chunk without tokens keeps its row (as in the FAISS set-up): a word no query holds

_clients: dict[str, MilvusClient] = {}
_clients_lock = threading.Lock()


def client(uri: str) -> MilvusClient:
    """One client per URI and process (a Milvus Lite file is served by one in-process server)."""
    with _clients_lock:
        if uri not in _clients:
            _clients[uri] = MilvusClient(uri)
        return _clients[uri]


def forget_clients() -> None:
    """Close every client (tests whose Milvus Lite files are gone; a process's shutdown)."""
    with _clients_lock:
        for milvus in _clients.values():
            milvus.close()
        _clients.clear()


@contextmanager
def _answering(uri: str) -> Iterator[None]:
    """A query's failure as StoreUnavailable (the service answers 503), not an unexplained 500."""
    try:
        yield
    except (MilvusException, grpc.RpcError, grpc.FutureTimeoutError) as exc:
        logger.warning("Milvus at %s did not answer: %s", uri, exc)
        raise StoreUnavailable("the vector store did not answer; try again shortly") from exc


def collection_name(prefix: str, version: str) -> str:
    return f"{prefix}_{re.sub(r'[^0-9A-Za-z_]', '_', version)}"


class Vocabulary:
    """Token -> ASCII word, from a version's sorted token set: the same at build and at every load."""

    def __init__(self, token_lists: Sequence[Sequence[str]]) -> None:
        self._words = {token: f"w{i:x}" for i, token in enumerate(sorted({t for ts in token_lists for t in ts}))}

    def encode(self, tokens: Sequence[str]) -> str:
        """The words of the known tokens, space-separated (unknown tokens match no chunk anyway)."""
        return " ".join(self._words[t] for t in tokens if t in self._words)


def write_version(
    uri: str,
    prefix: str,
    version: str,
    vectors: Iterable[np.ndarray],
    dimension: int,
    token_lists: Sequence[Sequence[str]],
    sources: Sequence[str],
    hnsw: bool,
) -> str:
    """Create the version's collection (dropping a leftover of a killed build), fill it, load it."""
    milvus = client(uri)
    name = collection_name(prefix, version)
    if milvus.has_collection(name):
        milvus.drop_collection(name)
    schema = milvus.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)  # the row: chunk i of the version
    schema.add_field("source", DataType.VARCHAR, max_length=1024)
    schema.add_field("words", DataType.VARCHAR, max_length=_MAX_TOKENS_TEXT, enable_analyzer=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["words"],
                 output_field_names=["sparse"])
    )  # fmt: skip
    indexes = milvus.prepare_index_params()
    if hnsw:
        indexes.add_index("vector", index_type="HNSW", metric_type="IP", params=_HNSW)
    else:
        indexes.add_index("vector", index_type="FLAT", metric_type="IP")
    # k1 and b as bm25s's in the FAISS set-up, given twice: Milvus reads them as index parameters,
    # Milvus Lite only from the nested "params" (it ignores the others and uses k1 1.5).
    bm25 = {"bm25_k1": _K1, "bm25_b": _B}
    indexes.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={**bm25, "params": bm25})
    milvus.create_collection(name, schema=schema, index_params=indexes)
    vocabulary = Vocabulary(token_lists)
    row = 0
    for part in vectors:  # row-ordered parts, inserted in batches
        for begin in range(0, len(part), _INSERT_BATCH):
            batch = part[begin : begin + _INSERT_BATCH]
            milvus.insert(name, [
                {"id": row + i, "source": sources[row + i], "words": vocabulary.encode(token_lists[row + i]) or _EMPTY,
                 "vector": vector.tolist()}
                for i, vector in enumerate(batch)
            ])  # fmt: skip
            row += len(batch)
    milvus.flush(name)
    milvus.load_collection(name)
    return name


def make_current(uri: str, prefix: str, version: str, keep: set[str]) -> None:
    """Point the alias `prefix` at the version's collection and drop the prefix's other collections
    but those in `keep` (the previous version, still served by replicas that have not reloaded yet)."""
    milvus = client(uri)
    name = collection_name(prefix, version)
    try:
        milvus.alter_alias(name, prefix)
    except MilvusException:  # no such alias yet
        milvus.create_alias(name, prefix)
    kept = {collection_name(prefix, v) for v in keep} | {name}
    for other in milvus.list_collections():
        if other.startswith(f"{prefix}_") and other not in kept:
            milvus.drop_collection(other)


class MilvusDense:
    """The dense half of a version's collection, with DenseIndex's interface (row i is chunk i)."""

    kind = "milvus"

    def __init__(self, uri: str, name: str, size: int, dimension: int) -> None:
        self._uri = uri
        self._client = client(uri)
        self._name = name
        self.size = size
        self._dimension = dimension

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest chunks by inner product (cosine of normalised vectors)."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        with _answering(self._uri):
            (hits,) = self._client.search(
                self._name, data=[query.astype(np.float32).tolist()], anns_field="vector", limit=k, output_fields=[],
                search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF_SEARCH, k)}}, timeout=QUERY_TIMEOUT,
            )  # fmt: skip
        return (np.asarray([h["distance"] for h in hits], dtype=np.float32),
                np.asarray([h["id"] for h in hits], dtype=np.int64))  # fmt: skip

    def scores_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.vectors(rows) @ query.astype(np.float32)

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        wanted = np.arange(self.size) if rows is None else np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(wanted), self._dimension), dtype=np.float32)
        for begin, batch in _batches(wanted):
            with _answering(self._uri):
                fetched = self._client.get(self._name, ids=batch, output_fields=["vector"], timeout=QUERY_TIMEOUT)
            found = {r["id"]: r["vector"] for r in fetched}
            out[begin : begin + len(batch)] = [found[r] for r in batch]
        return out


class MilvusLexical:
    """The BM25 half of a version's collection, with LexicalIndex's interface."""

    def __init__(self, uri: str, name: str, token_lists: Sequence[Sequence[str]]) -> None:
        self._uri = uri
        self._client = client(uri)
        self._name = name
        self._vocabulary = Vocabulary(token_lists)
        self.size = len(token_lists)
        self.idf = DocumentFrequencies(token_lists).idf

    def top(self, query_tokens: list[str], pool: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """row -> BM25 score of the best `pool` chunks (within `allowed` rows) that match at all."""
        words = self._vocabulary.encode(query_tokens)
        if not words or pool <= 0 or (allowed is not None and not len(allowed)):
            return {}
        condition = "" if allowed is None else f"id in [{','.join(str(int(r)) for r in allowed)}]"
        with _answering(self._uri):
            (hits,) = self._client.search(
                self._name, data=[words], anns_field="sparse", limit=min(pool, self.size), filter=condition,
                output_fields=[], search_params={"metric_type": "BM25"}, timeout=QUERY_TIMEOUT,
            )  # fmt: skip
        # Milvus scores carry Robertson's (k1 + 1) factor, which bm25s's Lucene variant leaves out: the same
        # ranking, and with the factor divided out, the same numbers (Milvus Lite reports them negated).
        return {int(h["id"]): abs(h["distance"]) / (_K1 + 1) for h in hits if h["distance"]}


def _batches(rows: np.ndarray) -> Iterator[tuple[int, list[int]]]:
    for begin in range(0, len(rows), _GET_BATCH):
        yield begin, [int(r) for r in rows[begin : begin + _GET_BATCH]]
