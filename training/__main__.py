"""python -m training ranker|sentences|cross-encoder: build the training corpus and index, make question groups,
train, write the model; python -m training soup: average cross-encoders of several seeds into one.

.venv/bin/python -m training ranker --seed 13      # writes qa/models/ranker.txt and ranker.json
.venv/bin/python -m training sentences --seed 13   # writes qa/models/sentences.txt and sentences.json
.venv/bin/python -m training cross-encoder --people --seed 13 --negatives 2 --epochs 2   # qa/models/cross_encoder/
.venv/bin/python -m training cross-encoder --people --sentences --no-passages --seed 13 --negatives 2 --epochs 2 \
    --out var/sentence-cross-encoder   # a model for RAGQA_CROSS_ENCODER_SENTENCE_MODEL (not shipped)
.venv/bin/python -m training soup var/ce-13 var/ce-29 --out var/ce-soup   # one model from two seeds' models
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import lightgbm

from indexer.build import build_index
from indexer.embedders.base import Embedder
from indexer.embedders.factory import make_embedder
from indexer.store import IndexStore
from qa.cross_encoder import DEFAULT_CROSS_ENCODER, MODEL_FILE, CrossEncoder
from qa.loaded import LoadedIndex, open_index
from qa.rerank import DEFAULT_MODEL, DEFAULT_SENTENCE_MODEL, Reranker
from qa.settings import QASettings
from training.corpus import write_training_corpus
from training.groups import (
    Group,
    cmrc_questions,
    question_groups,
    synthetic_groups,
    synthetic_questions,
    written_questions,
)
from training.questions import SyntheticQuestion
from training.ranker import hit_at_1, kinds, save, split_by_document, train, weighed
from training.sentences import PASSAGES, sentence_groups

if TYPE_CHECKING:  # the cross-encoder's module imports torch: only its command loads it
    from training.cross_encoder import PairGroup

ROOT = Path(__file__).resolve().parents[1]
EXTDATA = ROOT.parent / "shared" / "extdata"
EVAL_SETS = [ROOT / "eval" / "datasets" / name for name in ("dev_policy.jsonl", "dev_reports.jsonl")]
CMRC_EVAL = ROOT / "eval" / "datasets" / "cmrc2018" / "cmrc2018_dev_300.jsonl"
WRITTEN = ROOT / "training" / "data" / "written_questions.jsonl"
BASE_MODEL_LICENCE = "m3e-small (moka-ai): weights Apache-2.0, model licence non-commercial, which this inherits"
LabelledQuestion = tuple[SyntheticQuestion, str, list[str]]  # a question, its document and its answers
Made = TypeVar("Made")  # what a group builder makes: a Group, or a cross-encoder's PairGroup
# question_groups, sentence_groups (Maker[Group]) and the cross-encoder's _pair_maker (Maker[PairGroup])
Maker = Callable[[LoadedIndex, Iterator[LabelledQuestion]], Iterable[Made]]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    commands_run = {"ranker": _ranker, "sentences": _sentences, "cross-encoder": _cross_encoder, "soup": _soup}
    return commands_run[args.command](args)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    # what the reranker and the sentence model are trained on: the same questions
    questions = argparse.ArgumentParser(add_help=False)
    questions.add_argument("--seed", type=int, default=13)
    questions.add_argument("--laws", type=int, default=400, help=_LAWS_HELP)
    questions.add_argument("--per-chunk", type=int, default=2, help="synthetic questions per chunk, at most")
    questions.add_argument("--sentence-share", type=float, default=0.3, help="chunks that also give a keyword query")
    questions.add_argument(
        "--cmrc", action=argparse.BooleanOptionalAction, default=True, help="add CMRC 2018 questions"
    )
    # Questions people wrote weigh more than rule-made ones: in training, each written group counts this many
    # times and each CMRC one --cmrc-weight times (measured in docs/evaluation.md, step v11).
    questions.add_argument("--written-weight", type=_at_least_one, default=2)
    questions.add_argument("--cmrc-weight", type=_at_least_one, default=2)
    questions.add_argument("--rounds", type=int, default=400)
    questions.add_argument("--work", type=Path, default=ROOT / "var" / "train")
    questions.add_argument("--extdata", type=Path, default=EXTDATA)
    ranker = commands.add_parser("ranker", parents=[questions], help="train the LightGBM reranker")
    ranker.add_argument(
        "--section-share", type=float, default=0.0, help="chunks under a numbered heading that give a question about it"
    )
    ranker.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ranker.add_argument("--written", type=Path, default=WRITTEN, help=_WRITTEN_HELP)
    sentences = commands.add_parser(
        "sentences", parents=[questions], help="train the answer-sentence model over the reranker's passages"
    )
    sentences.add_argument("--ranker", type=Path, default=DEFAULT_MODEL, help="the passage model choosing the passages")
    sentences.add_argument("--out", type=Path, default=DEFAULT_SENTENCE_MODEL)
    # without the written questions by default: with them (weight 1 or 2) policy citation precision fell by
    # 0.015-0.03 and nothing rose (docs/evaluation.md, step v11)
    sentences.add_argument("--written", type=Path, default=None, help=_WRITTEN_HELP)
    cross = commands.add_parser("cross-encoder", help="fine-tune the cross-encoder from the embedding model")
    cross.add_argument("--seed", type=int, default=13)
    cross.add_argument("--laws", type=int, default=400, help=_LAWS_HELP)
    cross.add_argument("--questions", type=int, default=8000, help="synthetic questions sampled, at most")
    cross.add_argument(
        "--people", action="store_true",
        help="train on the questions people wrote (--written and CMRC 2018's) instead of rule-made ones",
    )  # fmt: skip
    cross.add_argument("--written", type=Path, default=WRITTEN, help=_WRITTEN_HELP + ", with --people")
    cross.add_argument("--cmrc", action=argparse.BooleanOptionalAction, default=True, help="with --people")
    cross.add_argument("--negatives", type=int, default=3, help="hard negatives per question")
    cross.add_argument(
        "--sentences", action="store_true",
        help="with --people: also train on each question's answer sentences (the one holding the answer against "
        "the answerer's best-scored others)",
    )  # fmt: skip
    cross.add_argument(
        "--no-passages", dest="passages", action="store_false",
        help="with --sentences: train on the answer sentences only (a model that scores an answer's sentences)",
    )  # fmt: skip
    cross.add_argument(
        "--mine-with", type=Path, default=None, metavar="FOLDER",
        help="a cross-encoder (e.g. the shipped qa/models/cross_encoder) blended into the ranking that mines the "
        "passage negatives, as served: they are then what the served ranking puts above the answer",
    )  # fmt: skip
    cross.add_argument("--epochs", type=float, default=1.0)
    cross.add_argument("--batch-groups", type=int, default=4)
    cross.add_argument("--learning-rate", type=float, default=3e-5)
    cross.add_argument("--work", type=Path, default=ROOT / "var" / "train")
    cross.add_argument("--out", type=Path, default=DEFAULT_CROSS_ENCODER)
    cross.add_argument("--extdata", type=Path, default=EXTDATA)
    soup = commands.add_parser("soup", help="average the weights of cross-encoders trained with different seeds")
    soup.add_argument("members", type=Path, nargs="+", metavar="FOLDER", help="cross-encoders of one base model")
    soup.add_argument("--out", type=Path, required=True, help="a folder of its own (not a member)")
    return parser


_WRITTEN_HELP = "questions written by reading training documents (JSONL)"
_LAWS_HELP = "law documents sampled into the training corpus (less those named after an evaluated law)"


def _passage_negatives(mined_with: Path | None) -> str:
    """The card's account of where the passage negatives came from."""
    blend = ""
    if mined_with:
        digest = hashlib.sha256((mined_with / MODEL_FILE).read_bytes()).hexdigest()
        blend = f" with the cross-encoder of {mined_with} (sha256 {digest[:12]}) blended in as served"
    return (
        f"; hard negatives are the hybrid retrieval's and the LightGBM reranker's{blend} best passages that do not "
        "hold the answer"
    )


def _at_least_one(text: str) -> int:
    if (value := int(text)) < 1:
        raise argparse.ArgumentTypeError("a weight counts a group at least once")
    return value


def _training_index(
    args: argparse.Namespace, reranker: Reranker | None = None, written: Sequence[LabelledQuestion] = ()
) -> tuple[LoadedIndex, Embedder, dict[str, int]]:
    """The index of the training corpus: the sampled law documents, those the `written` questions are about and
    the unused work reports."""
    required = {source for _, source, _ in written}
    corpus = args.work / "corpus"
    counts = write_training_corpus(
        args.extdata / "law_corpus_scale", args.extdata / "gov_docs", EVAL_SETS, corpus,
        laws=args.laws, seed=args.seed, required=required,
    )  # fmt: skip
    settings = QASettings(corpus_dir=corpus, index_dir=args.work / "index")
    embedder = make_embedder(settings)
    build_index(settings, lambda: embedder)
    return open_index(IndexStore.load(settings.index_dir), embedder, settings, None, reranker), embedder, counts


def _cross_encoder(args: argparse.Namespace) -> int:
    if args.sentences and not args.people:
        print("--sentences needs --people: sentences are labelled by the questions' answers", file=sys.stderr)
        return 2
    if not (args.passages or args.sentences):
        print("--no-passages needs --sentences: there would be nothing to train on", file=sys.stderr)
        return 2
    from training import cross_encoder

    started = time.perf_counter()
    written = _written_questions(args) if args.people else []
    # answer sentences are those of the LightGBM-reranked search (no cross-encoder), scored by the answerer
    reranker = Reranker()
    index, embedder, counts = _training_index(args, reranker if args.sentences else None, written)
    miner = Reranker(cross_encoder=CrossEncoder(args.mine_with)) if args.mine_with else reranker
    if args.people:
        make = _pair_maker(miner, args.negatives, passages=args.passages, sentences=args.sentences)
        groups = _with_cmrc(args, embedder, _written_groups(index, written, make), make, index.retriever.reranker)
        questions_said = f"written by people: {args.written.name}" + (
            ", CMRC 2018 dev questions whose paragraph no eval question uses" if args.cmrc else ""
        )
        if args.sentences:
            questions_said += ("; each also gives" if args.passages else "; each gives only") + (
                " a group of its answer sentences (those of the LightGBM-reranked top passages): "
                "the one holding the answer against the answerer's best-scored others"
            )
    else:
        questions = list(synthetic_questions(index, per_chunk=2, sentence_share=0.3, seed=args.seed))
        random.Random(args.seed).shuffle(questions)
        made = [(question, source, None) for question, source in questions[: args.questions]]
        groups = list(cross_encoder.pair_groups(index, miner, made, negatives=args.negatives))
        questions_said = "synthetic, rule-made from the corpus text (training/questions.py)"
    train_groups, held_out = split_by_document(groups, 0.1, args.seed)
    print(f"{len(train_groups)} training groups, {len(held_out)} held out", file=sys.stderr)
    model, tokenizer = cross_encoder.train(
        train_groups, Path(QASettings().embedding_model), seed=args.seed, epochs=args.epochs,
        batch_groups=args.batch_groups, learning_rate=args.learning_rate,
    )  # fmt: skip
    check: dict[str, float] = {"held_out_groups": len(held_out)}
    for kind in sorted({g.kind for g in held_out}):  # "held_out_hit_at_1" (passages), "..._sentence"
        of_kind = [g for g in held_out if g.kind == kind]
        suffix = "" if kind == "passage" else f"_{kind}"
        check[f"held_out_hit_at_1{suffix}"] = round(cross_encoder.hit_at_1(model, tokenizer, of_kind), 4)
    print(check, file=sys.stderr)
    card = {
        "command": "python -m training " + shlex.join(sys.argv[1:] if __name__ == "__main__" else []),
        "base_model": BASE_MODEL_LICENCE,
        "seed": args.seed,
        "data": {
            "corpus": f"{counts['laws']} documents of law_corpus_scale and {counts['reports']} State Council work "
            "reports of gov_docs that no evaluation question is about",
            "questions": questions_said + (_passage_negatives(args.mine_with) if args.passages else ""),
            "groups": len(groups),
        },
        "negatives_model_sha256": hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest(),
        **(
            {"sentence_negatives_model_sha256": hashlib.sha256(DEFAULT_SENTENCE_MODEL.read_bytes()).hexdigest()}
            if args.sentences
            else {}
        ),
        "held_out_check": check,
        "seconds": round(time.perf_counter() - started, 1),
    }
    cross_encoder.export(model, tokenizer, args.out, card)
    print(f"model written to {args.out}", file=sys.stderr)
    return 0


def _soup(args: argparse.Namespace) -> int:
    from training.soup import soup

    if len(args.members) < 2:
        print("a soup needs at least two cross-encoders", file=sys.stderr)
        return 2
    card = {
        "command": "python -m training " + shlex.join(sys.argv[1:] if __name__ == "__main__" else []),
        "base_model": BASE_MODEL_LICENCE,
        "soup": "the uniform average of the members' weights (training/soup.py)",
    }
    try:
        soup(args.members, args.out, card)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"model written to {args.out}", file=sys.stderr)
    return 0


def _ranker(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    written = _written_questions(args)
    index, embedder, counts = _training_index(args, written=written)
    groups = list(synthetic_groups(
        index, per_chunk=args.per_chunk, sentence_share=args.sentence_share, seed=args.seed,
        section_share=args.section_share,
    ))  # fmt: skip
    print(f"{len(groups)} synthetic groups from {len(index.store.chunks)} chunks: {kinds(groups)}", file=sys.stderr)
    groups += _written_groups(index, written, question_groups)
    groups = _with_cmrc(args, embedder, groups, question_groups)
    booster, held_out = _trained(args, groups)
    check = {
        "held_out_groups": len(held_out),
        "held_out_hit_at_1_retrieval": round(hit_at_1(held_out, None), 4),
        "held_out_hit_at_1_reranked": round(hit_at_1(held_out, booster), 4),
    }
    data = {
        "questions": "synthetic, rule-made from the corpus text (training/questions.py)" + _natural_questions(args),
    }
    return _saved(args, booster, groups, counts, data, check, started)


def _sentences(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    reranker = Reranker(args.ranker, sentence_model_file=None)
    written = _written_questions(args)
    index, embedder, counts = _training_index(args, reranker, written)
    made = synthetic_questions(index, per_chunk=args.per_chunk, sentence_share=args.sentence_share, seed=args.seed)
    groups = list(sentence_groups(index, ((q, source, None) for q, source in made)))
    print(f"{len(groups)} synthetic sentence groups: {kinds(groups)}", file=sys.stderr)
    groups += _written_groups(index, written, sentence_groups)
    groups = _with_cmrc(args, embedder, groups, sentence_groups, reranker)
    booster, held_out = _trained(args, groups)
    # the baseline: the passage model reading each sentence as a short passage (what answers used before)
    passage_model = lightgbm.Booster(model_file=str(args.ranker))
    check = {
        "held_out_groups": len(held_out),
        "held_out_first_sentence_holds_answer_passage_model": round(hit_at_1(held_out, passage_model), 4),
        "held_out_first_sentence_holds_answer": round(hit_at_1(held_out, booster), 4),
    }
    data = {
        "questions": "the reranker's rule-made questions (its default options)"
        + _natural_questions(args)
        + f"; for each, the sentences of the reranked search's top {PASSAGES} passages, labelled by whether "
        "they hold the answer",
    }
    passages = {"passage_model_sha256": hashlib.sha256(args.ranker.read_bytes()).hexdigest()}
    return _saved(args, booster, groups, counts, data, check, started, passages)


def _trained(args: argparse.Namespace, groups: list[Group]) -> tuple[lightgbm.Booster, list[Group]]:
    """The model trained on the groups of 90 % of the documents (people's questions weighed up), and the groups of
    the rest (held out, each once)."""
    train_groups, held_out = split_by_document(groups, 0.1, args.seed)
    weights = {"written": args.written_weight, "cmrc": args.cmrc_weight}
    return train(weighed(train_groups, weights), held_out, seed=args.seed, rounds=args.rounds), held_out


def _saved(
    args: argparse.Namespace,
    booster: lightgbm.Booster,
    groups: list[Group],
    counts: dict[str, int],
    data: dict[str, str],
    check: dict[str, float],
    started: float,
    provenance: dict[str, str] | None = None,
) -> int:
    """Save the model with its card: the command, seed, what it was trained from, data and held-out check."""
    print(check, file=sys.stderr)
    card = {
        "command": "python -m training " + shlex.join(sys.argv[1:] if __name__ == "__main__" else []),
        "seed": args.seed,
        **(provenance or {}),
        "data": {
            "corpus": f"{counts['laws']} documents of law_corpus_scale ({', '.join(_LAW_NOTE)}) and "
            f"{counts['reports']} State Council work reports of gov_docs that no evaluation question is about",
            **data,
            "groups": len(groups),
            "kinds": kinds(groups),
        },
        "held_out_check": check,
        "best_iteration": booster.best_iteration,
        "seconds": round(time.perf_counter() - started, 1),
    }
    save(booster, args.out, card)
    print(f"model written to {args.out}", file=sys.stderr)
    return 0


def _pair_maker(
    reranker: Reranker, negatives: int, *, passages: bool = True, sentences: bool = False
) -> Maker[PairGroup]:
    """Builds cross-encoder pair groups from labelled questions, as `question_groups` builds the ranker's: those
    of their passages and, with `sentences`, those of their answer sentences."""
    from training import cross_encoder

    def make(index: LoadedIndex, questions: Iterator[LabelledQuestion]) -> list[PairGroup]:
        asked = list(questions)
        groups = list(cross_encoder.pair_groups(index, reranker, asked, negatives=negatives)) if passages else []
        if sentences:
            groups += cross_encoder.sentence_pair_groups(index, asked, negatives=negatives)
        return groups

    return make


def _written_questions(args: argparse.Namespace) -> list[LabelledQuestion]:
    return list(written_questions(args.written)) if args.written else []


def _written_groups(index: LoadedIndex, questions: list[LabelledQuestion], make: Maker[Made]) -> list[Made]:
    made = list(make(index, iter(questions)))
    if questions:
        print(f"{len(made)} written groups of {len(questions)} questions", file=sys.stderr)
    return made


def _natural_questions(args: argparse.Namespace) -> str:
    """What the card says of the questions people wrote."""
    said = ""
    if args.written:
        said += f"; {args.written.name} (questions written by reading training documents, weight {args.written_weight})"
    if args.cmrc:
        said += f"; CMRC 2018 dev questions whose paragraph no eval question uses (weight {args.cmrc_weight})"
    return said


def _with_cmrc(
    args: argparse.Namespace,
    embedder: Embedder,
    groups: list[Made],
    make: Maker[Made],
    reranker: Reranker | None = None,
) -> list[Made]:
    """`groups` and, with --cmrc, the groups `make` builds from the CMRC 2018 questions whose paragraph no
    evaluation question uses (over the paragraphs' own index)."""
    if not args.cmrc:
        return groups
    settings = QASettings(corpus_dir=CMRC_EVAL.parent / "corpus", index_dir=args.work / "cmrc-index")
    build_index(settings, lambda: embedder)
    index = open_index(IndexStore.load(settings.index_dir), embedder, settings, None, reranker)
    excluded = {g.source for case in _load(CMRC_EVAL) for g in case.gold}
    queries = args.extdata / "cmrc2018_dev_retrieval" / "queries.jsonl"
    extra = list(make(index, cmrc_questions(queries, excluded)))
    print(f"{len(extra)} CMRC 2018 groups (paragraphs of the 300 eval questions excluded)", file=sys.stderr)
    return groups + extra


_LAW_NOTE = ("local regulations", "judicial interpretations", "economic, social, civil, criminal and procedural law")


def _load(path: Path):
    from eval.dataset import load_cases

    return load_cases(path)


if __name__ == "__main__":
    raise SystemExit(main())
