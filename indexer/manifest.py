"""The index manifest, typed, and the one check of whether an index can serve the configured settings.

`incompatibilities` is the only place that decides it: the build (may the previous version's
chunks be reused?), start-up (is the index stale?) and every load and reload (may it be served?)
all ask it, each passing what it knows (the embedder's dimension, the corpus files).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from indexer.chunking import CHUNKER_VERSION
from indexer.settings import IndexSettings

FORMAT_VERSION = 1
# What normalisation produced the chunks' matching text; bump "v" when its output changes.
NORMALIZATION: dict[str, Any] = {
    "nfkc": True, "opencc": "t2s", "pinyin_annotations": "removed", "mojibake": "gbk-shift", "v": 1,
}  # fmt: skip
LEXICAL = {"library": "bm25s", "tokenizer": "jieba cut_for_search + domain dictionary"}


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str  # the RAGQA_EMBEDDING_MODEL the vectors came from
    variant: str  # torch-float32, onnx-float32 or onnx-int8: vectors of different variants never mix
    dimension: int


@dataclass(frozen=True, slots=True)
class Chunking:
    size: int
    overlap: int
    version: int = CHUNKER_VERSION  # of the chunker's rules (manifests before it had none: 1)

    @classmethod
    def of(cls, settings: IndexSettings) -> Chunking:
        return cls(settings.chunk_size, settings.chunk_overlap)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an index version was built from and how; written last, so its presence marks a whole version."""

    index_version: str
    created_at: str
    model: ModelInfo
    chunking: Chunking
    dense_kind: str  # "flat" or "hnsw"
    hnsw_threshold: int
    documents: int
    chunks: int
    files: dict[str, str]  # source -> sha256 of the file's bytes
    # Corpus files the build read but could not index (undecodable, or no text once normalised): source -> sha256.
    skipped: dict[str, str] = field(default_factory=dict)
    normalization: dict[str, Any] = field(default_factory=lambda: dict(NORMALIZATION))
    lexical: dict[str, str] = field(default_factory=lambda: dict(LEXICAL))
    format_version: int = FORMAT_VERSION
    store: str = "faiss"  # or "milvus": the vectors and BM25 index live in milvus_collection at milvus_uri
    milvus_uri: str = ""
    milvus_collection: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout on disk (format 1; `chunking.version` was added, read as 1 where absent)."""
        return {
            "format_version": self.format_version,
            "index_version": self.index_version,
            "created_at": self.created_at,
            "model": asdict(self.model),
            "normalization": self.normalization,
            "chunking": asdict(self.chunking),
            "dense": {"kind": self.dense_kind, "hnsw_threshold": self.hnsw_threshold, **self._store_dict()},
            "lexical": self.lexical,
            "counts": {"documents": self.documents, "chunks": self.chunks},
            "files": self.files,
            "skipped": self.skipped,
        }

    def _store_dict(self) -> dict[str, str]:
        if self.store == "faiss":
            return {}  # as manifests before Milvus
        return {"store": self.store, "milvus_uri": self.milvus_uri, "milvus_collection": self.milvus_collection}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Raises KeyError, TypeError or ValueError for a manifest that is not of this format."""
        model = data["model"]
        return cls(
            index_version=str(data["index_version"]),
            created_at=str(data["created_at"]),
            model=ModelInfo(str(model["name"]), str(model.get("variant", "")), int(model["dimension"])),
            chunking=Chunking(
                int(data["chunking"]["size"]), int(data["chunking"]["overlap"]), int(data["chunking"].get("version", 1))
            ),
            dense_kind=str(data["dense"]["kind"]),
            hnsw_threshold=int(data["dense"]["hnsw_threshold"]),
            documents=int(data["counts"]["documents"]),
            chunks=int(data["counts"]["chunks"]),
            files={str(k): str(v) for k, v in data["files"].items()},
            skipped={str(k): str(v) for k, v in data.get("skipped", {}).items()},
            normalization=dict(data["normalization"]),
            lexical=dict(data["lexical"]),
            format_version=int(data["format_version"]),
            store=str(data["dense"].get("store", "faiss")),
            milvus_uri=str(data["dense"].get("milvus_uri", "")),
            milvus_collection=str(data["dense"].get("milvus_collection", "")),
        )


def incompatibilities(
    manifest: Manifest,
    settings: IndexSettings,
    *,
    dimension: int | None = None,
    corpus_files: dict[str, str] | None = None,
    serving: bool = False,
    reusing: bool = False,
) -> list[str]:
    """Why the index cannot serve as the settings ask (empty: it can).

    `dimension` is the loaded embedder's, when one is; `corpus_files` (source -> sha256) is the
    corpus as it is now, when the caller read it. With `serving`, only what makes answers wrong
    counts (another model, variant, dimension or normaliser): other chunking only makes the index
    stale, and a stale index is still served until a build replaces it. With `reusing` (the build asks
    whether chunks and vectors can be reused), where they are stored does not count: a build moving an
    index between FAISS and Milvus copies its vectors instead of embedding again.
    """
    reasons = []
    model = manifest.model
    if model.name != settings.embedding_model:
        reasons.append(f"the index was built with {model.name}, the settings ask for {settings.embedding_model}")
    if model.variant != settings.embedding_variant:
        reasons.append(
            f"the index vectors are {model.variant or 'of an unknown variant'}, "
            f"the settings ask for {settings.embedding_variant}"
        )
    if dimension is not None and dimension != model.dimension:
        reasons.append(f"the index vectors are {model.dimension}-d, the embedder's are {dimension}-d")
    if manifest.normalization != NORMALIZATION:
        reasons.append("the index text was normalised by another version of the normaliser")
    if serving:
        return reasons
    chunking, wanted = manifest.chunking, Chunking.of(settings)
    if (chunking.size, chunking.overlap) != (wanted.size, wanted.overlap):
        reasons.append(
            f"the index was chunked at {chunking.size}/{chunking.overlap} characters, "
            f"the settings ask for {wanted.size}/{wanted.overlap}"
        )
    if reusing:
        pass
    elif manifest.store != settings.vector_store:
        reasons.append(f"the index lives in {manifest.store}, the settings ask for {settings.vector_store}")
    elif manifest.store == "milvus" and manifest.milvus_uri != settings.milvus_uri:
        reasons.append(f"the index lives in the Milvus at {manifest.milvus_uri}, not {settings.milvus_uri}")
    elif manifest.store == "milvus" and not manifest.milvus_collection.startswith(f"{settings.milvus_collection}_"):
        reasons.append(f"the index is the Milvus collection {manifest.milvus_collection}, "
                       f"the settings ask for the prefix {settings.milvus_collection}")  # fmt: skip
    if chunking.version != wanted.version:
        reasons.append(f"the index was chunked by chunker version {chunking.version}, this is version {wanted.version}")
    known = {**manifest.files, **manifest.skipped}
    if corpus_files is not None and corpus_files != known:
        changed = sorted(set(corpus_files.items()) ^ set(known.items()))
        names = sorted({source for source, _ in changed})
        reasons.append(f"the corpus differs from the indexed files ({len(names)}: {', '.join(names[:3])})")
    return reasons
