"""Index settings, read from RAGQA_* environment variables; the service extends them."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAGQA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("data/reports")
    index_dir: Path = Path("var/index")
    embedding_model: str = "models/m3e-small"  # a local path or a model name
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    chunk_size: int = Field(200, ge=20, le=4000)  # target characters per chunk
    chunk_overlap: int = Field(40, ge=0, le=2000)  # characters shared by neighbouring chunks
    hnsw_threshold: int = Field(50_000, ge=1)  # above this many chunks the dense index is HNSW

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IndexSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self
