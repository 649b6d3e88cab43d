"""The reranker's training code runs end to end on a handful of real passages (no model, few rounds)."""

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from eval.dataset import load_cases
from indexer.datatypes import Chunk, Hit
from indexer.normalize import normalize
from indexer.store import IndexStore
from qa.answer import AnswerSentence
from qa.cross_encoder import passage_room, passage_text
from qa.features import FEATURES
from qa.loaded import open_index
from qa.rerank import Reranker
from qa.settings import QASettings
from tests.conftest import MODEL
from training.__main__ import EVAL_SETS, WRITTEN, _pair_maker, main, parser
from training.corpus import bare_name, laws_named, short_place, write_training_corpus
from training.groups import Group, question_groups, synthetic_groups, synthetic_questions, written_questions
from training.questions import questions_from, section_question
from training.ranker import hit_at_1, save, split_by_document, train, weighed
from training.sentences import PASSAGES, answer_labels, sentence_groups, within_answer

LAW = normalize(
    "第十二条 申请人应当自收到决定书之日起十五日内向上一级机关申请复议。\n"
    "第十三条 本办法由省人民政府负责解释。\n"
    "第十四条 违反本办法规定的，处一万元以上五万元以下的罚款。\n"
    "第十五条 本办法自2019年8月5日起施行。\n"
).text


def test_statements_become_the_questions_they_answer() -> None:
    made = {q.kind: q for q in questions_from(LAW, "某省行政复议办法", random.Random(0), limit=10)}
    assert set(made) == {"deadline", "who", "figure", "date"}
    assert made["deadline"].answer == "十五日" and "多长时间" in made["deadline"].question
    assert made["who"].answer == "省人民政府" and "哪个部门" in made["who"].question
    assert made["figure"].answer == "一万元以上五万元以下" and "多少钱" in made["figure"].question
    assert made["date"].answer == "2019年8月5日" and "《某省行政复议办法》" in made["date"].question
    assert all(q.answer not in q.question for q in made.values())


def test_training_runs_and_writes_a_model_the_reranker_loads(fake_index, tmp_path) -> None:
    settings, embedder = fake_index
    qa_settings = QASettings(**settings.model_dump())
    index = open_index(IndexStore.load(settings.index_dir), embedder, qa_settings, None)
    groups = list(synthetic_groups(index, per_chunk=2, sentence_share=1.0, seed=1))
    assert len(groups) > 20 and all(g.features.shape == (len(g.labels), len(FEATURES)) for g in groups)
    assert all(0 < g.labels.sum() < len(g.labels) for g in groups)
    train_groups, held_out = split_by_document(groups, 0.4, seed=1)
    assert train_groups and held_out and not {g.source for g in train_groups} & {g.source for g in held_out}
    booster = train(train_groups, held_out, seed=1, rounds=5)
    assert 0.0 <= hit_at_1(held_out, booster) <= 1.0
    model = tmp_path / "ranker.txt"
    save(booster, model, {"seed": 1})
    reranker = Reranker(model, depth=10)
    query = index.analyze(groups[0].question)
    candidates = index.retriever.hybrid_candidates(query, 50)
    ranked = reranker.rerank(query, candidates, index.retriever)
    assert {c.chunk_id for c, _ in ranked} == {c.chunk.chunk_id for c in candidates}
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True) and np.isfinite(scores).all()


def test_sentence_groups_label_the_read_sentences_that_hold_the_answer(fake_index, tmp_path) -> None:
    settings, embedder = fake_index
    qa_settings = QASettings(**settings.model_dump())
    reranker = Reranker(sentence_model_file=None)
    index = open_index(IndexStore.load(settings.index_dir), embedder, qa_settings, None, reranker)
    made = list(synthetic_questions(index, per_chunk=2, sentence_share=1.0, seed=1))
    groups = list(sentence_groups(index, ((q, source, None) for q, source in made)))
    assert len(groups) > 10 and all(g.features.shape == (len(g.labels), len(FEATURES)) for g in groups)
    answers = {q.question: q.answer[:8] for q, _ in made}
    for group in groups:  # the sentences of the reranked search's top passages, as /v1/ask splits them, each once
        query = index.analyze(group.question)
        sentences, _ = index.answerer.sentences(index.retriever.search(query, 5, rerank=True)[:PASSAGES])
        expected = [answers[group.question] in s.normalized and s.hit.chunk.source == group.source for s in sentences]
        assert [bool(x) for x in group.labels] == expected and 0 < sum(expected) < len(expected)
    booster = train(*split_by_document(groups, 0.4, seed=1), seed=1, rounds=5)
    model = tmp_path / "sentences.txt"
    save(booster, model, {"seed": 1})
    served = Reranker(sentence_model_file=model)
    query = index.analyze(groups[0].question)
    read, _ = index.answerer.sentence_candidates(query, *index.answerer.sentences(index.retriever.search(query, 3)))
    assert np.isfinite(served.sentence_scores(query, read, index.retriever)).all()


def test_cross_encoder_training_exports_a_model_the_reranker_blends_in(fake_index, tmp_path) -> None:
    from qa.cross_encoder import CrossEncoder
    from training import cross_encoder
    from training.groups import synthetic_questions

    settings, embedder = fake_index
    index = open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None)
    questions = list(synthetic_questions(index, per_chunk=1, sentence_share=0.0, seed=1))[:12]
    groups = list(cross_encoder.pair_groups(index, Reranker(), [(q, s, None) for q, s in questions], negatives=2))
    assert groups and all(len(g.passages) == 3 for g in groups)
    model, tokenizer = cross_encoder.train(groups, MODEL, seed=1, epochs=0.5, batch_groups=2, learning_rate=1e-5)
    assert 0.0 <= cross_encoder.hit_at_1(model, tokenizer, groups[:3]) <= 1.0
    cross_encoder.export(model, tokenizer, tmp_path / "ce", {"seed": 1})
    served = CrossEncoder(tmp_path / "ce", threads=1)
    torch_scores = cross_encoder.scores(model, tokenizer, groups[0].question, list(groups[0].passages))
    served_scores = served.scores(groups[0].question, list(groups[0].passages))
    assert served_scores.shape == torch_scores.shape and np.allclose(served_scores, torch_scores, atol=0.15)
    reranker = Reranker(depth=10, cross_encoder=served, cross_depth=4, cross_weight=0.5)
    query = index.analyze(groups[0].question)
    candidates = index.retriever.hybrid_candidates(query, 50)
    plain = [c.chunk_id for c, _ in Reranker(depth=10).rerank(query, candidates, index.retriever)]
    blended = reranker.rerank(query, candidates, index.retriever)
    assert (
        sorted(c.chunk_id for c, _ in blended[:4]) == sorted(plain[:4])
        and [c.chunk_id for c, _ in blended[4:]] == plain[4:]
    )
    scores = [s for _, s in blended]
    assert scores == sorted(scores, reverse=True)


def test_a_numbered_heading_gives_a_question_answered_by_what_it_heads() -> None:
    text = normalize("深化生态文明体制改革。完善主体功能区制度和生态补偿机制，建立资源环境监测预警机制。").text
    asked = section_question(
        text, "三、2017年重点工作任务 / （二）深化重要领域和关键环节改革", "政府工作报告", random.Random(2)
    )
    assert asked is not None and asked.kind == "section"
    assert any(word in asked.question for word in ("深化", "重要领域", "关键环节", "改革")), "words may be dropped"
    assert asked.question.endswith("？") and not asked.question.endswith("？？")
    assert asked.answer in text and asked.answer not in asked.question
    article = "第十七条 档案馆除按照国家有关规定接收移交的档案外"
    assert section_question(text, article, "档案法", random.Random(2)) is None


def test_written_questions_are_about_training_documents_no_evaluation_uses() -> None:
    rows = [json.loads(line) for line in WRITTEN.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 1000 and len({r["question"] for r in rows}) == len(rows)
    evaluated = {bare_name(g.source) for path in EVAL_SETS for case in load_cases(path) for g in case.gold}
    for row in rows:
        assert re.match(r"^(law_law\d+_|report_)", row["source"]), row
        assert not laws_named(row["source"]) & evaluated, row
        # other places have regulations on the same topics: a question must say which place it asks about
        place = short_place(row["source"])
        assert place is None or place in row["question"], row
        assert 6 <= len(row["evidence"]) <= 40 and row["evidence"] not in row["question"], row
    made = {(q.question, q.kind) for q, _, _ in written_questions(WRITTEN)}
    assert made == {(r["question"], "written") for r in rows}


def _law_corpus(tmp_path: Path, titles: list[str]) -> Path:
    """A law_corpus_scale folder of one-article documents law00000, law00001… with these titles (and an empty
    gov_docs beside it)."""
    laws = tmp_path / "law_corpus_scale"
    laws.mkdir()
    rows = [f"law0000{i}\t{t}\tDLC/{t}.md\tc\t1" for i, t in enumerate(titles)]
    (laws / "documents.tsv").write_text("\n".join(["doc_id\ttitle\tpath\tcommit\tn", *rows]) + "\n", "utf-8")
    passages = [{"title": t, "text": f"第一条 {t}的正文。", "doc_id": f"law0000{i}"} for i, t in enumerate(titles)]
    (laws / "passages.jsonl").write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in passages), "utf-8")
    (tmp_path / "gov_docs" / "government_work_reports").mkdir(parents=True)
    return laws


def test_the_training_corpus_holds_the_documents_written_questions_are_about(tmp_path) -> None:
    laws = _law_corpus(tmp_path, [f"某市条例{i}" for i in range(4)])
    target = tmp_path / "corpus"
    sampled = write_training_corpus(laws, tmp_path / "gov_docs", EVAL_SETS, target, laws=1, seed=3)
    names = {p.name for p in target.iterdir()}
    missing = next(name for i in range(4) if (name := f"law_law0000{i}_某市条例{i}.txt") not in names)
    counts = write_training_corpus(laws, tmp_path / "gov_docs", EVAL_SETS, target, laws=1, seed=3, required={missing})
    assert sampled["laws"] == 1 and counts["laws"] == 2 and missing in {p.name for p in target.iterdir()}
    with pytest.raises(ValueError, match="not in the training corpus"):  # a document it cannot write
        write_training_corpus(laws, tmp_path / "gov_docs", EVAL_SETS, target, laws=1, seed=3, required={"law_x_无.txt"})


def test_the_ranker_reads_the_written_questions_and_the_sentence_model_does_not_by_default() -> None:
    assert parser().parse_args(["ranker"]).written == WRITTEN
    assert parser().parse_args(["sentences"]).written is None
    assert parser().parse_args(["sentences", "--written", "w.jsonl"]).written == Path("w.jsonl")
    people = parser().parse_args(["cross-encoder", "--people"])
    assert people.people and people.written == WRITTEN and people.cmrc
    with pytest.raises(SystemExit):
        parser().parse_args(["ranker", "--written-weight", "0"])


# a question written by reading the Dong'e report of the test corpus, and the span that answers it
WRITTEN_ROW = {
    "question": "东阿县编委会和编办的工作规则细则是怎么定的？",
    "source": "001_5545cfdd99bf609a.txt",
    "evidence": "中共东阿县委机构编制委员会工作规则",
}


def _written_file(tmp_path: Path) -> Path:
    written = tmp_path / "written.jsonl"
    written.write_text(json.dumps(WRITTEN_ROW, ensure_ascii=False) + "\n", encoding="utf-8")
    return written


def test_a_written_question_labels_the_passages_holding_its_evidence(fake_index, tmp_path) -> None:
    settings, embedder = fake_index
    index = open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None)
    row, source, evidence = WRITTEN_ROW, WRITTEN_ROW["source"], WRITTEN_ROW["evidence"]
    [group] = question_groups(index, written_questions(_written_file(tmp_path)))
    chunks = index.retriever.hybrid_candidates(index.analyze(row["question"]), 100)[: len(group.labels)]
    expected = [c.chunk.source == source and evidence in c.chunk.normalized for c in chunks]
    assert group.kind == "written" and [bool(x) for x in group.labels] == expected and 0 < sum(expected)
    # the same report's passages without the evidence are the negatives
    assert any(c.chunk.source == source and not label for c, label in zip(chunks, group.labels, strict=True))


def test_the_cross_encoder_pairs_a_written_question_s_evidence_with_the_reranker_s_best_wrong_passages(
    fake_index, tmp_path
) -> None:
    settings, embedder = fake_index
    index = open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None)
    row, evidence = WRITTEN_ROW, WRITTEN_ROW["evidence"]
    [(question, source, answers)] = written_questions(_written_file(tmp_path))
    # each question is labelled by its own answers: CMRC asks one text twice, with other answers
    other = "口袋书5000余本"
    group, again = _pair_maker(Reranker(), 2)(index, iter([(question, source, answers), (question, source, [other])]))
    assert group.question == again.question == row["question"] and len(group.passages) == 3
    assert evidence in group.passages[0] and not any(evidence in p for p in group.passages[1:])
    assert other in again.passages[0] and not any(other in p for p in again.passages[1:])


class _PrefersLast:
    """A cross-encoder that prefers the passages the reranker put last: its own confusions become the negatives."""

    def __init__(self, disliked: set[str]) -> None:
        self.disliked = disliked

    def room(self, question: str) -> int:  # the passages cut as for training
        from training.cross_encoder import MAX_LENGTH, base_tokenizer

        return passage_room(base_tokenizer(), MAX_LENGTH, question)

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        return np.asarray([0.0 if p in self.disliked else 10.0 for p in passages])


def test_negatives_mined_with_a_cross_encoder_are_what_the_served_ranking_puts_above_the_answer(fake_index) -> None:
    from training import cross_encoder

    settings, embedder = fake_index
    index = open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None)
    questions = [(q, s, None) for q, s in synthetic_questions(index, per_chunk=1, sentence_share=0.0, seed=1)][:12]
    plain = list(cross_encoder.pair_groups(index, Reranker(), questions, negatives=2))
    # the model's two best wrong passages disliked: blended in always, the next ones go above them
    disliked = {p for g in plain for p in g.passages[1:]}
    served = Reranker(cross_encoder=_PrefersLast(disliked), cross_margin=float("inf"), cross_weight=1.0)
    mined = list(cross_encoder.pair_groups(index, served, questions, negatives=2))
    assert [g.question for g in mined] == [g.question for g in plain]
    assert any(not set(m.passages[1:]) & disliked for m in mined)  # the cross-encoder's favourites instead
    assert all(len(set(g.passages)) == 3 for g in mined)


def test_with_sentences_a_written_question_also_pairs_its_answer_sentence_with_the_answerer_s_best_wrong_ones(
    fake_index, tmp_path
) -> None:
    settings, embedder = fake_index
    qa_settings = QASettings(**settings.model_dump())
    index = open_index(IndexStore.load(settings.index_dir), embedder, qa_settings, None, Reranker())
    evidence = WRITTEN_ROW["evidence"]
    passages, sentences = _pair_maker(Reranker(), 2, sentences=True)(index, written_questions(_written_file(tmp_path)))
    assert (passages.kind, sentences.kind) == ("passage", "sentence") and len(sentences.passages) == 3
    # sentences are read as the service reads them: document title, section, the sentence
    answer, *wrong = sentences.passages
    assert evidence in answer and answer.rstrip("。").count("。") == 0 and "｜" in answer
    assert not any(evidence in p for p in wrong)
    query = index.analyze(sentences.question)
    read, vectors = index.answerer.sentences(index.retriever.search(query, PASSAGES, rerank=True))
    candidates, scores = index.answerer.scored_sentences(query, read, vectors)
    texts = [passage_text(c.chunk) for c in candidates]
    best_wrong = [texts[i] for i in np.argsort(-scores, kind="stable") if evidence not in texts[i]][:2]
    assert wrong == best_wrong
    only = _pair_maker(Reranker(), 2, passages=False, sentences=True)(index, written_questions(_written_file(tmp_path)))
    assert only == [sentences], "--no-passages: the sentence group alone"


def test_sentence_groups_need_the_questions_people_wrote(tmp_path, capsys) -> None:
    assert main(["cross-encoder", "--sentences", "--work", str(tmp_path)]) == 2
    assert "--sentences needs --people" in capsys.readouterr().err and not any(tmp_path.iterdir())
    assert main(["cross-encoder", "--people", "--no-passages", "--work", str(tmp_path)]) == 2
    assert "--no-passages needs --sentences" in capsys.readouterr().err and not any(tmp_path.iterdir())


def test_people_s_questions_weigh_more_in_training() -> None:
    def group(kind: str) -> Group:
        return Group(kind, kind, "doc", np.zeros((2, len(FEATURES))), np.asarray([1, 0]))

    groups = [group("written"), group("cmrc"), group("figure")]
    assert [g.kind for g in weighed(groups, {"written": 3, "cmrc": 2})] == ["written"] * 3 + ["cmrc"] * 2 + ["figure"]


def test_a_document_is_known_by_its_place_and_the_laws_it_is_named_after() -> None:
    assert short_place("law_law00972_深圳经济特区细胞和基因产业促进条例.txt") == "深圳"
    assert short_place("浙江省公路条例") == "浙江" and short_place("景宁畲族自治县林业管理条例") == "景宁"
    assert short_place("中华人民共和国城市房地产管理法") is None and short_place("行政处罚法(2021-01-22).txt") is None
    assert short_place("关于市人民政府向市人民代表大会常务委员会报告重大事项的若干规定") is None
    assert "失业保险条例" in laws_named("law_law01846_重庆市失业保险条例.txt")
    assert "集会游行示威法" in laws_named("河南省《中华人民共和国集会游行示威法》实施办法")
    assert bare_name("laws/档案法(2020-06-20).txt") == "档案法"


def test_the_training_corpus_leaves_out_documents_named_after_an_evaluated_law(tmp_path) -> None:
    laws = _law_corpus(tmp_path, ["某市养犬管理条例", "某省实施《中华人民共和国档案法》办法", "重庆市失业保险条例"])
    target = tmp_path / "corpus"
    target.mkdir()
    (target / "law_law00001_某省实施《中华人民共和国档案法》办法.txt").write_text("an earlier run's", "utf-8")
    (target / "notes.txt").write_text("not the command's: kept", "utf-8")
    counts = write_training_corpus(laws, tmp_path / "gov_docs", EVAL_SETS, target, laws=3, seed=3)
    assert counts["laws"] == 1
    assert sorted(p.name for p in target.iterdir()) == ["law_law00000_某市养犬管理条例.txt", "notes.txt"]


def test_an_answer_s_second_sentence_is_evidence_not_a_wrong_sentence() -> None:
    text = "申请人应当提交书面申请。受理机关应当在五日内审查。审查通过的，发给证书。"
    chunk = Chunk("a.txt#0", "a.txt", 0, "办法", "", 0, len(text), text, text)
    other = Chunk("b.txt#0", "b.txt", 0, "办法", "", 0, len(text), text, text)
    spans = [(0, 12), (12, 24), (24, len(text))]
    read = [AnswerSentence(0, Hit(chunk, 1.0), a, b, text[a:b]) for a, b in spans]
    read.append(AnswerSentence(1, Hit(other, 0.5), 12, 24, text[12:24]))
    read.append(AnswerSentence(0, Hit(chunk, 1.0), 0, 4, "申请人应"))  # too short to place
    answers = ["申请人应当提交书面申请。受理机关应当在五日内审查。"]
    assert answer_labels(read, "a.txt", answers) == [True, False, False, False, False]
    # the answer's second sentence is no negative; the third, another document's copy and a scrap are
    assert within_answer(read, "a.txt", answers) == [True, True, False, False, False]
