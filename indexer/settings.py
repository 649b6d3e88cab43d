"""Index settings, read from RAGQA_* environment variables; the service extends them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexSettings(BaseSettings):
    """Where the corpus and index live, and how chunks are cut and embedded (RAGQA_* variables)."""

    model_config = SettingsConfigDict(env_prefix="RAGQA_", env_file=".env", extra="ignore")

    # The service writes uploads into corpus_dir: by default a working copy under var/, seeded once from
    # corpus_seed (the repository's five reports), so the repository's own tree never changes.
    corpus_dir: Path = Path("var/corpus")
    corpus_seed: Path | None = Path("data/reports")
    index_dir: Path = Path("var/index")
    embedding_model: str = "models/m3e-small"  # a local path or a model name
    embedding_backend: Literal["onnx", "torch"] = "onnx"  # ONNX Runtime, or sentence-transformers on torch
    embedding_int8: bool = True  # ONNX only: int8 dynamically quantised weights
    embedding_threads: int = Field(0, ge=0, le=256)  # ONNX intra-op threads; 0 = one per core
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    chunk_size: int = Field(200, ge=20, le=4000)  # target characters per chunk
    chunk_overlap: int = Field(40, ge=0, le=2000)  # characters shared by neighbouring chunks
    # Above this many chunks the dense index is HNSW: exact search costs about 0.2 ms per 1,000 chunks, so
    # at 10,000 it is 2 ms while HNSW answers in 0.4 ms at any size up to millions (recall@10 over 0.99).
    hnsw_threshold: int = Field(10_000, ge=1)
    # Where the vectors and the BM25 index live: FAISS and bm25s files in index_dir, or Milvus (a file path
    # for embedded Milvus Lite, or http://HOST:19530), one collection per version named "<prefix>_<version>",
    # with the alias "<prefix>" on the current one. Each index sharing a Milvus needs its own prefix.
    vector_store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str = "var/milvus.db"
    milvus_collection: str = Field("report_qa", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,100}$")

    @property
    def seed_folder(self) -> Path | None:
        """What to seed a missing corpus folder from: corpus_seed for the default corpus folder, or when
        corpus_seed was set; a corpus folder named by the user is never filled with the sample reports."""
        explicit = "corpus_seed" in self.model_fields_set
        return self.corpus_seed if explicit or "corpus_dir" not in self.model_fields_set else None

    @property
    def embedding_variant(self) -> str:
        """How vectors are computed, recorded in the manifest: vectors of different variants never mix."""
        if self.embedding_backend == "torch":
            return "torch-float32"
        return "onnx-int8" if self.embedding_int8 else "onnx-float32"

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IndexSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self
