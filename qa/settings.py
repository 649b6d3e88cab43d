"""Retrieval and answering settings: the index settings plus fusion, refusal and upstream-model knobs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from indexer.settings import IndexSettings

# The reranker asks the cross-encoder when its first two scores are closer than this (docs/evaluation.md, v13),
# and blends its z-scores in with this weight: 0.4 and 0.45 gave the same answers on the policy and reports sets,
# the best on all three of those tried from 0.3 to 0.6 (v19, with the cross-encoder reading the question's sentences).
CROSS_ENCODER_MARGIN = 2.0
CROSS_ENCODER_WEIGHT = 0.4
# It can also rescore the best this many of an answer's candidate sentences, blended with this weight. Off by
# default: the shipped model, trained on passages, gains on the policy set at 8 and 0.3 (citation precision
# +0.022) but loses on the reports (-0.010); one trained on sentences gains on the reports and CMRC, not on the
# policy set; eight sentences cost ~100 ms an answer (docs/evaluation.md, v15 and v16).
CROSS_ENCODER_SENTENCES = 0
CROSS_ENCODER_SENTENCE_WEIGHT = 0.3
# ... only when the best two of them score within this of each other (inf: always): a clear best is kept.
CROSS_ENCODER_SENTENCE_MARGIN = float("inf")


class QASettings(IndexSettings):
    """What retrieval and answering read, beside the index settings (RAGQA_* variables)."""

    # Hybrid fusion: weight of the min-max normalised dense score against the lexical one.
    dense_weight: float = Field(0.3, ge=0.0, le=1.0)
    candidates: int = Field(100, ge=10, le=2000)  # per retriever, before fusion
    query_cache: int = Field(2048, ge=0, le=1_000_000)  # query embeddings kept (LRU); 0 turns the cache off
    query_batch: int = Field(32, ge=0, le=1024)  # concurrent query embeddings batched together; 0: no batching
    # Refusal: the best passage must cover this share of the question (calibrated on the dev set).
    answer_threshold: float = Field(0.45, ge=0.0, le=1.0)
    # A paraphrase shares few words with the passage that answers it: the best passage also answers when it
    # covers this share of the question and its cosine with the question reaches answer_cosine (a value on
    # the embedding model's scale, m3e-small's here; 1 turns this off).
    answer_paraphrase_coverage: float = Field(0.25, ge=0.0, le=1.0)
    answer_cosine: float = Field(0.82, ge=0.0, le=1.0)
    # Sentences an answer quotes, each with its neighbours in its article (1: the best one alone). 2: the best
    # balance of citation precision and evidence recall on the three dev sets (docs/evaluation.md, v17).
    answer_sentences: int = Field(2, ge=1, le=10)
    # The learned reranker (qa/models/ranker.txt unless another model file is named): on for /v1/ask and
    # chat; /v1/search uses it when a request asks ("rerank": true).
    rerank: bool = True
    rerank_model: Path | None = None
    sentence_model: Path | None = None  # picks the answer's sentences (qa/models/sentences.txt unless named)
    rerank_depth: int = Field(30, ge=2, le=200)  # candidates the model reorders
    # The cross-encoder rescoring the reranker's first `depth` with `weight` (a folder with model_qint8.onnx,
    # tokenizer.json and card.json; qa/models/cross_encoder unless named), only when the reranker's first two
    # scores are closer than `margin` (the LightGBM model's scale; inf: always): a clear first costs nothing.
    # Chosen on the three dev sets (docs/evaluation.md); off, reranking is the LightGBM model's alone.
    cross_encoder: bool = True
    cross_encoder_model: Path | None = None
    cross_encoder_depth: int = Field(5, ge=2, le=50)
    cross_encoder_weight: float = Field(CROSS_ENCODER_WEIGHT, ge=0.0, le=1.0)
    cross_encoder_margin: float = Field(CROSS_ENCODER_MARGIN, gt=0.0)
    # ... and the best `sentences` of an answer's candidate sentences (0 or 1: none), blended with
    # `sentence_weight`, when the best two are within `sentence_margin` (with the reranker and the cross-encoder on)
    cross_encoder_sentences: int = Field(CROSS_ENCODER_SENTENCES, ge=0, le=50)
    cross_encoder_sentence_weight: float = Field(CROSS_ENCODER_SENTENCE_WEIGHT, ge=0.0, le=1.0)
    cross_encoder_sentence_margin: float = Field(CROSS_ENCODER_SENTENCE_MARGIN, gt=0.0)
    # by a model of their own (a folder as above, trained on answer sentences) unless unset: then the passages'
    cross_encoder_sentence_model: Path | None = None
    # Optional upstream model (any OpenAI-compatible server); unset: extractive answers only.
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:11434/v1 (Ollama) or a vLLM server
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(20.0, gt=0, le=600)
