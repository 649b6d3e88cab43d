"""Command line: python -m eval run | compare."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

from eval.dataset import load_cases
from eval.report import build_report, table, write_report
from eval.runner import http_client, in_process_client, run_cases, summarize

MODES = ("rerank", "hybrid", "dense", "lexical")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a dataset and write report.json, report.md and charts")
    run.add_argument("--dataset", type=Path, required=True)
    run.add_argument("--corpus", type=Path, help="corpus folder (in-process; default RAGQA_CORPUS_DIR)")
    run.add_argument("--index", type=Path, help="index folder (in-process; built or updated first)")
    run.add_argument("--url", help="evaluate a running service instead, e.g. http://127.0.0.1:8000")
    run.add_argument("--modes", default=",".join(MODES), help="retrieval modes; the first also answers")
    run.add_argument("--out", type=Path, required=True)
    compare = commands.add_parser("compare", help="ablation table over modes, chunk sizes and fusion weights")
    compare.add_argument("--dataset", type=Path, required=True)
    compare.add_argument("--corpus", type=Path, required=True)
    compare.add_argument("--work", type=Path, default=Path("var/compare"), help="where the variant indexes go")
    compare.add_argument("--chunk-sizes", default="200,300,500")
    compare.add_argument("--dense-weights", default="0.3,0.4,0.5,0.6")
    compare.add_argument("--out", type=Path, required=True)
    stages = commands.add_parser("stages", help="each ranking stage on and off over several datasets, with its cost")
    stages.add_argument("--set", action="append", required=True, metavar="NAME:DATASET:CORPUS:INDEX", dest="sets")
    stages.add_argument("--out", type=Path, required=True)
    calibrate = commands.add_parser("calibrate", help="sweep the refusal threshold over a dataset")
    calibrate.add_argument("--dataset", type=Path, required=True)
    calibrate.add_argument("--corpus", type=Path)
    calibrate.add_argument("--index", type=Path)
    calibrate.add_argument("--thresholds", default="0.3,0.35,0.4,0.45,0.5,0.55,0.6")
    convert = commands.add_parser("convert-cmrc", help="convert the CMRC 2018 retrieval set to the EVAL.md format")
    convert.add_argument("--source", type=Path, default=Path("../shared/extdata/cmrc2018_dev_retrieval"))
    convert.add_argument("--out", type=Path, default=Path("eval/datasets/cmrc2018"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        return _COMMANDS[args.command](args)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    cases = load_cases(args.dataset)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        raise ValueError(f"--modes must name some of {', '.join(MODES)}")
    settings = None if args.url else _settings(args.corpus, args.index)
    client_context = in_process_client(settings) if settings else http_client(args.url)
    with client_context as client:
        results = {mode: run_cases(client, cases, mode, ask=(mode == modes[0])) for mode in modes}
        index_info = client.get("/readyz").json()
    summaries = {mode: summarize(rows) for mode, rows in results.items()}
    context = {
        "dataset": args.dataset.name,
        "corpus": str(settings.corpus_dir) if settings else args.url,
        "counts": f"{len(cases)} questions ({sum(c.answerable for c in cases)} answerable), "
        f"{index_info.get('documents')} documents, {index_info.get('chunks')} chunks",
        "primary_mode": modes[0],
        "settings": _settings_summary(settings, index_info),
        "command": "python -m eval " + shlex.join(sys.argv[1:] if __name__ == "__main__" else []),
    }
    report = build_report(context, summaries, results)
    for path in write_report(args.out, report, results):
        print(path, file=sys.stderr)
    print(json.dumps(summaries, indent=2))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from indexer.build import build_index
    from indexer.embedders.factory import make_embedder
    from service.config import Settings

    cases = load_cases(args.dataset)
    rows = []
    embedder = make_embedder(Settings())
    for size in [int(s) for s in args.chunk_sizes.split(",")]:
        base = Settings(corpus_dir=args.corpus, index_dir=args.work / f"size{size}", chunk_size=size,
                        chunk_overlap=size // 5, build_on_start=False)  # fmt: skip
        build_index(base, lambda: embedder)
        variants = [("lexical", None), ("dense", None)] + [("hybrid", float(w)) for w in args.dense_weights.split(",")]
        for mode, weight in variants:
            settings = base.model_copy(update={"dense_weight": weight} if weight is not None else {})
            with in_process_client(settings) as client:
                summary = summarize(run_cases(client, cases, mode, ask=(mode == "hybrid")))
            rows.append([size, mode, "" if weight is None else weight] + [summary.get(k, "") for k in _COMPARE_METRICS])
            print(
                f"chunk {size} {mode} {weight}: hit@1 {summary['hit_at_1']:.3f} mrr {summary['mrr_at_10']:.3f}",
                file=sys.stderr,
            )
    markdown = table(["chunk size", "mode", "dense weight", *_COMPARE_METRICS], rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.md").write_text(f"# Ablation on {args.dataset.name}\n\n{markdown}\n", encoding="utf-8")
    (args.out / "compare.json").write_text(
        json.dumps({"columns": ["chunk_size", "mode", "dense_weight", *_COMPARE_METRICS], "rows": rows}, indent=2)
    )
    print(markdown)
    return 0


# (stage label, search mode, settings): each adds one stage to the one before; /v1/ask reranks from the fourth
_PLAIN = {"rerank": False, "cross_encoder": False}
_STAGES = [("BM25 alone", "lexical", _PLAIN), ("dense alone", "dense", _PLAIN), ("hybrid fusion", "hybrid", _PLAIN),
           ("hybrid + reranker", "rerank", {"rerank": True, "cross_encoder": False}),
           ("+ cross-encoder", "rerank", {"rerank": True, "cross_encoder": True})]  # fmt: skip
_STAGE_METRICS = ["hit_at_1", "hit_at_5", "mrr_at_10", "citation_precision", "answer_evidence_recall",
                  "no_answer_accuracy", "latency_p50_ms", "ask_latency_p50_ms"]  # fmt: skip


def _stages(args: argparse.Namespace) -> int:
    rows = []
    for spec in args.sets:
        name, dataset, corpus, index = spec.split(":")
        cases = load_cases(Path(dataset))
        base = _settings(Path(corpus), Path(index))
        for label, mode, stage in _STAGES:
            asks = mode in ("hybrid", "rerank")
            with in_process_client(base.model_copy(update=stage)) as client:
                summary = summarize(run_cases(client, cases, mode, ask=asks))
            rows.append([name, label] + [summary.get(k, "") for k in _STAGE_METRICS])
            print(f"{name} {label}: hit@1 {summary['hit_at_1']:.3f}", file=sys.stderr)
    header = ["set", "stages", *_STAGE_METRICS]
    markdown = table(header, rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stages.md").write_text(f"# Ranking stages on and off\n\n{markdown}\n", encoding="utf-8")
    (args.out / "stages.json").write_text(json.dumps({"columns": header, "rows": rows}, indent=2))
    print(markdown)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from eval.calibrate import answerability_scores, sweep
    from qa.manager import IndexManager

    manager = IndexManager(_settings(args.corpus, args.index))
    manager.load()
    scored = answerability_scores(manager.require(), load_cases(args.dataset))
    for score, case in scored:
        print(f"{score:.3f}  {'answerable  ' if case.answerable else 'unanswerable'}  {case.id}  {case.question}")
    print()
    print(sweep(scored, [float(t) for t in args.thresholds.split(",")]))
    return 0


def _convert_cmrc(args: argparse.Namespace) -> int:
    from eval.cmrc import convert

    documents, questions = convert(args.source, args.out)
    print(f"{documents} documents and {questions} questions written to {args.out}", file=sys.stderr)
    return 0


_COMPARE_METRICS = ["hit_at_1", "hit_at_5", "mrr_at_10", "ndcg_at_10", "no_answer_accuracy", "citation_precision"]


def _settings(corpus: Path | None, index: Path | None):
    from indexer.build import build_index
    from indexer.embedders.factory import make_embedder
    from service.config import Settings

    overrides = {"corpus_dir": corpus, "index_dir": index}
    settings = Settings(build_on_start=False).model_copy(update={k: v for k, v in overrides.items() if v})
    build_index(settings, lambda: make_embedder(settings))
    return settings


def _settings_summary(settings, index_info: dict) -> dict:
    info = {"index_version": index_info.get("index_version")}
    if settings is not None:
        info |= {
            "embedding_model": settings.embedding_model,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "dense_weight": settings.dense_weight,
            "answer_threshold": settings.answer_threshold,
            "answer_paraphrase_coverage": settings.answer_paraphrase_coverage,
            "answer_cosine": settings.answer_cosine,
            "rerank": settings.rerank,
            "cross_encoder": str(settings.cross_encoder_model or "shipped") if settings.cross_encoder else "off",
            "cross_encoder_margin": settings.cross_encoder_margin,
        }
        if settings.cross_encoder and settings.cross_encoder_sentences > 1:  # said only when answers use it
            info |= {
                "cross_encoder_sentences": settings.cross_encoder_sentences,
                "cross_encoder_sentence_weight": settings.cross_encoder_sentence_weight,
                "cross_encoder_sentence_margin": settings.cross_encoder_sentence_margin,
                "cross_encoder_sentence_model": str(settings.cross_encoder_sentence_model or "the passage model"),
            }
    return info


_COMMANDS = {
    "run": _run,
    "compare": _compare,
    "stages": _stages,
    "calibrate": _calibrate,
    "convert-cmrc": _convert_cmrc,
}

if __name__ == "__main__":
    raise SystemExit(main())
