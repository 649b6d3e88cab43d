"""A cross-encoder fine-tuned from the embedding model's weights: question and passage read together.

Each training group is a synthetic question, the passage that answers it and the passages the
hybrid retrieval and the LightGBM reranker put highest that do not (hard negatives, mostly of the
same document). With --sentences, each question also gives a group of the sentences an answer may
quote: the one holding the answer against those the answerer scores highest that do not, so one
model can both rank passages and score an answer's sentences. The loss is a softmax over the group
(the positive against its negatives), the listwise objective rerankers are trained with. The result
is exported to ONNX and int8-quantised like the embedder, so serving needs neither torch nor
transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from qa.cross_encoder import MODEL_FILE, passage_room, passage_text, passage_texts
from qa.features import Candidate
from qa.loaded import LoadedIndex
from qa.query import Query
from qa.rerank import Reranker
from qa.settings import QASettings
from training.groups import labelled_candidates
from training.questions import SyntheticQuestion
from training.sentences import PASSAGES, answer_labels, within_answer

logger = logging.getLogger(__name__)

MAX_LENGTH = 192  # tokens of question and passage together (a 200-character chunk is about 200 tokens)


@dataclass(frozen=True, slots=True)
class PairGroup:
    question: str
    source: str  # the document the question was made from (held-out splits go by document)
    passages: tuple[str, ...]  # the positive first, then the hard negatives
    kind: str = "passage"  # or "sentence": an answer's candidate sentences


def pair_groups(
    index: LoadedIndex,
    reranker: Reranker,
    questions: Iterable[tuple[SyntheticQuestion, str, list[str] | None]],
    *,
    negatives: int,
) -> Iterator[PairGroup]:
    """One group per (question, its document, its answers) whose answer the retrieval found: the best-ranked
    positive and the `negatives` best-ranked passages that do not hold the answer, each cut as the service cuts a
    passage too long for the model: to the sentences holding the most of the question's words."""
    for question, source, answers in questions:
        labelled = labelled_candidates(index, question, source, answers)
        if labelled is None:
            continue
        query, candidates, labels = labelled
        order = _ranked(reranker, index, query, candidates)
        positive = next(i for i in order if labels[i])
        hard = [i for i in order if not labels[i]][:negatives]
        if len(hard) == negatives:
            room = passage_room(base_tokenizer(), MAX_LENGTH, query.normalized)
            chunks = [candidates[i].chunk for i in (positive, *hard)]
            texts = tuple(passage_texts(query, index.retriever, chunks, room))
            yield PairGroup(question.question, source, texts)


@cache
def base_tokenizer() -> Tokenizer:
    """The tokenizer of the model fine-tuned (the cross-encoder keeps it)."""
    return Tokenizer.from_file(str(Path(QASettings().embedding_model) / "tokenizer.json"))


def _ranked(reranker: Reranker, index: LoadedIndex, query: Query, candidates: list[Candidate]) -> list[int]:
    """The candidates' indices as the reranker orders them when serving (with a cross-encoder, blended into the
    first places where the model hesitates), so the negatives are what that ranking puts above the answer."""
    position = {c.chunk.chunk_id: i for i, c in enumerate(candidates)}
    return [position[chunk.chunk_id] for chunk, _ in reranker.rerank(query, candidates, index.retriever)]


def sentence_pair_groups(
    index: LoadedIndex,
    questions: Iterable[tuple[SyntheticQuestion, str, list[str] | None]],
    *,
    negatives: int,
) -> Iterator[PairGroup]:
    """One group per question whose answer is among the sentences an answer reads for it (those of the index's
    reranked top passages): the best-scored sentence holding it and the `negatives` best-scored that are no part
    of it (a two-sentence answer's second sentence is no wrong one), each read as the service reads a sentence (a
    short passage of its document: title, section, sentence)."""
    answerer = index.answerer
    for question, source, answers in questions:
        query = index.analyze(question.question)
        sentences, vectors = answerer.sentences(index.retriever.search(query, PASSAGES, rerank=True))
        candidates, scores = answerer.scored_sentences(query, sentences, vectors)
        answered = answers or [question.answer]
        labels, evidence = answer_labels(sentences, source, answered), within_answer(sentences, source, answered)
        order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
        positive = next((i for i in order if labels[i]), None)
        hard = [i for i in order if not labels[i] and not evidence[i]][:negatives]
        if positive is not None and len(hard) == negatives:
            texts = tuple(passage_text(candidates[i].chunk) for i in (positive, *hard))
            yield PairGroup(question.question, source, texts, "sentence")


def train(
    groups: list[PairGroup],
    base_model: Path,
    *,
    seed: int,
    epochs: float,
    batch_groups: int,
    learning_rate: float,
) -> tuple[torch.nn.Module, object]:
    """Fine-tune a one-logit sequence classifier from `base_model` on the groups (listwise softmax loss)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModelForSequenceClassification.from_pretrained(base_model, num_labels=1)
    model.train()
    steps = max(1, int(len(groups) * epochs / batch_groups))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    order: list[int] = []
    started = time.perf_counter()
    for step in range(steps):
        if len(order) < batch_groups:
            order += rng.sample(range(len(groups)), len(groups))
        batch, order = [groups[i] for i in order[:batch_groups]], order[batch_groups:]
        size = len(batch[0].passages)
        encoded = tokenizer(
            [g.question for g in batch for _ in g.passages],
            [p for g in batch for p in g.passages],
            truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt",
        )  # fmt: skip
        logits = model(**encoded).logits.view(len(batch), size)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 50 == 0 or step == steps - 1:
            elapsed = time.perf_counter() - started
            logger.warning("step %d/%d loss %.3f (%.0f s)", step + 1, steps, loss.item(), elapsed)
    model.eval()
    return model, tokenizer


def scores(model: torch.nn.Module, tokenizer, question: str, passages: list[str]) -> np.ndarray:
    with torch.inference_mode():
        encoded = tokenizer(
            [question] * len(passages), passages, truncation="only_second", max_length=MAX_LENGTH,
            padding=True, return_tensors="pt",
        )  # fmt: skip
        return model(**encoded).logits.view(-1).numpy()


def hit_at_1(model: torch.nn.Module, tokenizer, groups: list[PairGroup]) -> float:
    """Share of groups whose positive the model scores above every hard negative."""
    hits = sum(int(np.argmax(scores(model, tokenizer, g.question, list(g.passages))) == 0) for g in groups)
    return hits / len(groups) if groups else 0.0


def export(model: torch.nn.Module, tokenizer, folder: Path, card: dict) -> None:
    """model_qint8.onnx (the only model file shipped), tokenizer.json and card.json in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["问题"], ["段落"], return_tensors="pt")
    names = ("input_ids", "attention_mask", "token_type_ids")
    full = folder / "model.onnx"
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    torch.onnx.export(
        _Logits(model), tuple(sample[n] for n in names), str(full), input_names=list(names),
        output_names=["logits"], dynamic_axes=axes,
        opset_version=17, dynamo=False,
    )  # fmt: skip
    target = folder / MODEL_FILE
    quantize_dynamic(full, target, weight_type=QuantType.QInt8, per_channel=True)
    full.unlink()
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    card = {**card, "max_length": MAX_LENGTH, "sha256": hashlib.sha256(target.read_bytes()).hexdigest()}
    (folder / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


class _Logits(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits
