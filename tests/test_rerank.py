"""The shipped reranker: its file is the one its card describes, it loads, and it reorders only the top."""

import hashlib
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from indexer.build import build_index
from indexer.datatypes import Chunk
from indexer.store import IndexStore
from qa import cross_encoder
from qa.cross_encoder import DEFAULT_CROSS_ENCODER, MODEL_FILE, CrossEncoder, CrossEncoderUnavailable, passage_text
from qa.features import FEATURES
from qa.loaded import open_index
from qa.rerank import DEFAULT_MODEL, DEFAULT_SENTENCE_MODEL, Reranker, model_card
from qa.settings import QASettings
from tests.conftest import FakeEmbedder, settings_for


def test_the_shipped_model_matches_its_card() -> None:
    card = model_card()
    assert hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest() == card["sha256"]
    assert card["features"] == list(FEATURES)
    assert card["command"].startswith("python -m training ranker") and isinstance(card["seed"], int)
    check = card["held_out_check"]
    assert check["held_out_hit_at_1_reranked"] > check["held_out_hit_at_1_retrieval"] + 0.05
    assert DEFAULT_MODEL.stat().st_size < 40 << 20


def test_the_shipped_sentence_model_matches_its_card_and_beats_the_passage_model_on_sentences() -> None:
    card = model_card(DEFAULT_SENTENCE_MODEL)
    assert hashlib.sha256(DEFAULT_SENTENCE_MODEL.read_bytes()).hexdigest() == card["sha256"]
    assert card["features"] == list(FEATURES)
    assert card["command"].startswith("python -m training sentences") and isinstance(card["seed"], int)
    assert card["passage_model_sha256"] == model_card()["sha256"]  # trained on the shipped reranker's passages
    check = card["held_out_check"]
    assert check["held_out_first_sentence_holds_answer"] > check["held_out_first_sentence_holds_answer_passage_model"]
    assert DEFAULT_SENTENCE_MODEL.stat().st_size < 40 << 20


def test_the_shipped_cross_encoder_matches_its_card_and_licence() -> None:
    card = json.loads((DEFAULT_CROSS_ENCODER / "card.json").read_text(encoding="utf-8"))
    model = DEFAULT_CROSS_ENCODER / MODEL_FILE
    assert hashlib.sha256(model.read_bytes()).hexdigest() == card["sha256"]
    assert card["command"].startswith("python -m training cross-encoder") and isinstance(card["seed"], int)
    assert card["negatives_model_sha256"] == model_card()["sha256"]  # its hard negatives: the shipped reranker's
    assert "non-commercial" in card["base_model"]
    assert card["held_out_check"]["held_out_hit_at_1"] >= 0.8  # the answer first of three; chance is 1/3
    assert model.stat().st_size < 40 << 20


def test_a_model_of_other_features_is_refused(tmp_path) -> None:
    text = DEFAULT_MODEL.read_text(encoding="utf-8").replace("feature_names=fused ", "feature_names=other ", 1)
    other = tmp_path / "other.txt"
    other.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="other features"):
        Reranker(other)


def _opened(fake_index):
    settings, embedder = fake_index
    return open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None)


def test_reranking_reorders_the_top_and_keeps_every_candidate(fake_index) -> None:
    index = _opened(fake_index)
    query = index.analyze("东阿县开展了几次双随机抽查？")
    candidates = index.retriever.hybrid_candidates(query, 40)
    ranked = Reranker(depth=10).rerank(query, candidates, index.retriever)
    assert [c.chunk_id for c, _ in ranked[10:]] == [c.chunk.chunk_id for c in candidates[10:]]
    assert {c.chunk_id for c, _ in ranked[:10]} == {c.chunk.chunk_id for c in candidates[:10]}


class _PrefersOtherYears(Reranker):
    """The shipped model, then the named year's document put last: what a large corpus can do to it."""

    def rerank(self, query, candidates, corpus):
        ranked = super().rerank(query, candidates, corpus)
        ordered = sorted(ranked, key=lambda item: item[0].source == "a.txt")
        return [(chunk, score) for (chunk, _), (_, score) in zip(ordered, ranked, strict=True)]


def test_a_document_named_by_its_year_goes_first(tmp_path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "2021年政府工作报告\n延续执行研发费用加计扣除75%政策，将制造业企业加计扣除比例提高到100%。\n", encoding="utf-8"
    )
    (corpus / "b.txt").write_text(
        "2022年政府工作报告\n2021年提出的制造业企业研发费用加计扣除比例提高政策成效明显，今年继续实施。\n",
        encoding="utf-8",
    )
    (corpus / "c.txt").write_text(
        "2019年统计公报\n全年研发经费投入增长，研发费用加计扣除比例提高。\n", encoding="utf-8"
    )
    settings = settings_for(corpus, tmp_path / "index")
    embedder = FakeEmbedder()
    build_index(settings, lambda: embedder)
    store = IndexStore.load(settings.index_dir)
    index = open_index(store, embedder, QASettings(**settings.model_dump()), None, _PrefersOtherYears())
    query = index.analyze("2021年政府工作报告把制造业企业研发费用加计扣除比例提高到多少？")
    hits = index.retriever.search(query, 3, rerank=True)
    assert hits[0].chunk.source == "a.txt"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    unnamed = index.retriever.search(index.analyze("2019年以来研发费用加计扣除比例提高了吗？"), 3, rerank=True)
    assert unnamed[-1].chunk.source == "a.txt", "a year that names no document changes nothing"


def test_a_statute_named_by_its_revision_year_goes_first(tmp_path) -> None:
    """A statute's title holds no year: its head's dates say when it was passed and revised."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "# 中华人民共和国档案法\n\n1987年9月5日 第六届全国人民代表大会常务委员会第二十二次会议通过\n\n"
        "2020年6月20日 第十三届全国人民代表大会常务委员会第十九次会议修订\n\n第五十三条 本法自2021年1月1日起施行。\n",
        encoding="utf-8",
    )
    (corpus / "b.txt").write_text(
        "# 中华人民共和国档案法实施条例\n\n2024年1月12日 国务院令公布\n\n"
        "第一条 根据2020年修订的《中华人民共和国档案法》，制定本条例。\n\n第五十二条 本条例自2024年3月1日起施行。\n",
        encoding="utf-8",
    )
    settings = settings_for(corpus, tmp_path / "index")
    embedder = FakeEmbedder()
    build_index(settings, lambda: embedder)
    index = open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None,
                       _PrefersOtherYears())  # fmt: skip
    hits = index.retriever.search(index.analyze("2020年修订后的档案法从什么时候起施行？"), 2, rerank=True)
    assert hits[0].chunk.source == "a.txt"


class _PrefersOthers(Reranker):
    """The shipped model, then the named document put last."""

    def __init__(self, named: str) -> None:
        super().__init__()
        self.named = named

    def rerank(self, query, candidates, corpus):
        ranked = super().rerank(query, candidates, corpus)
        ordered = sorted(ranked, key=lambda item: item[0].source == self.named)
        return [(chunk, score) for (chunk, _), (_, score) in zip(ordered, ranked, strict=True)]


def test_a_year_in_a_file_name_dates_the_document_but_digits_of_an_id_do_not(tmp_path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    named = "档案法(2020-06-20).txt"
    (corpus / named).write_text("# 中华人民共和国档案法\n\n第五十三条 本法自2021年1月1日起施行。\n", encoding="utf-8")
    (corpus / "law_law02020.txt").write_text(
        "# 中华人民共和国档案法实施条例\n\n第五十二条 本条例自2024年3月1日起施行。\n", encoding="utf-8"
    )
    settings = settings_for(corpus, tmp_path / "index")
    embedder = FakeEmbedder()
    build_index(settings, lambda: embedder)
    index = open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None,
                       _PrefersOthers(named))  # fmt: skip
    hits = index.retriever.search(index.analyze("2020年修订后的档案法从什么时候起施行？"), 2, rerank=True)
    assert hits[0].chunk.source == named


class _OneDocument:
    """A corpus of one loan notice: its topic words in every passage, "担保" in one."""

    def __init__(self, passages: list[str]) -> None:
        self.text = "".join(passages)

    def idf(self, term: str) -> float:
        return 1.0

    def document_text(self, source: str) -> str:
        return self.text

    def title(self, source: str) -> str:
        return "创业担保贷款通知"

    def title_weight(self, term: str) -> float:
        return 0.0

    def title_named(self, query, source: str) -> float:
        return 0.0

    def occurrences(self, source: str, term: str) -> int:
        return self.text.count(term)


LOAN_NOTICE = [
    "创业贷款面向高校毕业生，贷款额度最高二十万元，贷款期限三年。",
    "创业贷款纯信用发放，贷款不需要担保或者抵押。",
    "申请创业贷款的，到人力资源社会保障部门提交贷款申请材料。",
]


def test_the_passage_holding_the_documents_rare_question_word_has_the_focus() -> None:
    from indexer.datatypes import Chunk
    from qa.features import Candidate, features
    from qa.query import analyze

    passages = LOAN_NOTICE
    chunks = [Chunk(f"n.txt#{i}", "n.txt", i, "通知", "", 0, len(p), p, p) for i, p in enumerate(passages)]
    query = analyze("创业贷款需要担保吗？", lambda text: None)
    rows = features(query, [Candidate(c, 1.0, 1.0, 0.5, False) for c in chunks], _OneDocument(passages))
    focus = rows[:, FEATURES.index("document_focus")]
    assert focus.argmax() == 1 and focus[1] > 2 * focus[0]
    assert list(rows[:, FEATURES.index("document_focus_best")]) == [focus[0] / focus[1], 1.0, focus[2] / focus[1]]
    assert list(rows[:, FEATURES.index("first_chunk")]) == [1.0, 0.0, 0.0]
    phrases = rows[:, FEATURES.index("phrases")]
    assert phrases[1] > phrases[2], "需要担保 is said as asked only in the second passage"
    assert query.focus == ("需要", "担保")
    asked = rows[:, FEATURES.index("question_focus")]
    assert asked[1] == 1.0 and asked[0] < asked[1] and asked[2] < asked[1]
    assert rows[:, FEATURES.index("question_focus_rare")].argmax() == 1


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("担任公证员在年龄上有什么限制？", ("年龄", "限制")),
        ("2025年政府工作报告在学前教育方面提出了什么举措？", ("学前教育", "提出", "举措")),
        ("东阿县如何开展双随机检查", ("东阿县", "开展", "双随机")),
        ("双随机检查", ()),
    ],
)
def test_the_focus_is_the_content_words_beside_the_question_word(question, focus) -> None:
    from qa.query import analyze

    assert analyze(question, lambda text: None).focus == focus


@pytest.mark.parametrize(
    ("question", "answering"), [("创业贷款需要担保吗？", 1), ("创业贷款最高能贷多少？", 0), ("创业贷款到哪里申请？", 2)]
)
def test_the_shipped_cross_encoder_prefers_the_passage_holding_the_asked_about_part(question, answering) -> None:
    """Every passage repeats the topic words; only one says what is asked (the typical miss of issue 13)."""
    scores = CrossEncoder(DEFAULT_CROSS_ENCODER, threads=1).scores(question, [f"通知｜{p}" for p in LOAN_NOTICE])
    assert int(np.argmax(scores)) == answering


class _ReversingCrossEncoder(CrossEncoder):
    """Prefers the passages the model ranked last, and counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def room(self, question: str) -> int:
        return 1_000

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        self.calls += 1
        return np.arange(len(passages), dtype=np.float64)


_ARTICLE = Chunk(
    chunk_id="a.txt#3", source="a.txt", position=3, start=0, end=60, title="就业促进条例", section="第三章 扶持",
    text="", normalized="本市对创业者给予扶持。扶持资金由财政安排。创业贷款纯信用，不需要任何抵押或担保。",
)  # fmt: skip


def test_the_cross_encoder_reads_the_sentences_holding_the_question_when_the_passage_is_too_long() -> None:
    asked = {"担保": 5.0, "创业": 1.0}
    whole = passage_text(_ARTICLE, asked, room=200)
    assert whole == "就业促进条例｜第三章 扶持｜" + _ARTICLE.normalized, "a passage that fits is read whole"
    assert passage_text(_ARTICLE) == whole, "no question: the whole passage (the model's own cut)"
    cut = passage_text(_ARTICLE, asked, room=40)
    rarest = "就业促进条例｜第三章 扶持｜创业贷款纯信用，不需要任何抵押或担保。"
    assert cut == rarest, "from the sentence holding the question's rarest word"
    quoted = replace(_ARTICLE, normalized="会议指出：“要坚持扶持。”随后明确，创业贷款不需要担保。")
    after_quote = "就业促进条例｜第三章 扶持｜随后明确，创业贷款不需要担保。"
    assert passage_text(quoted, asked, room=30) == after_quote, "no window opens on a closing quote"
    tied = passage_text(_ARTICLE, {"扶持": 1.0}, room=30)
    assert tied == ("就业促进条例｜第三章 扶持｜" + _ARTICLE.normalized)[:30], "of equals, the earliest"


def test_the_cross_encoder_has_room_for_the_passage_beside_the_question() -> None:
    model = CrossEncoder(DEFAULT_CROSS_ENCODER, threads=1)
    assert model.room("担保") == model.max_length - 3 - 2
    assert model.room("问" * 500) == model.max_length - 3 - 96, "a long question is cut first"


def test_the_cross_encoder_is_asked_only_when_the_model_hesitates(fake_index) -> None:
    index = _opened(fake_index)
    query = index.analyze("东阿县如何开展双随机检查？")
    candidates = index.retriever.hybrid_candidates(query, 40)
    plain = Reranker(depth=10).rerank(query, candidates, index.retriever)
    assert plain[0][1] - plain[1][1] > 1e-6
    sure = _ReversingCrossEncoder()
    confident = Reranker(depth=10, cross_encoder=sure, cross_depth=4, cross_margin=1e-6)
    kept = confident.rerank(query, candidates, index.retriever)
    assert sure.calls == 0 and kept == plain
    gap = plain[0][1] - plain[1][1]
    for margin, asks in ((gap * 0.99, 0), (gap * 1.01, 1)):  # asked exactly when the first two are within it
        counted = _ReversingCrossEncoder()
        Reranker(depth=10, cross_encoder=counted, cross_depth=4, cross_margin=margin).rerank(
            query, candidates, index.retriever
        )
        assert counted.calls == asks
    asked = _ReversingCrossEncoder()
    blended = Reranker(depth=10, cross_encoder=asked, cross_depth=4, cross_weight=1.0, cross_margin=math.inf)
    reordered = blended.rerank(query, candidates, index.retriever)
    assert asked.calls == 1
    assert [c for c, _ in reordered[:4]] == [c for c, _ in reversed(plain[:4])] and reordered[4:] == plain[4:]
    assert [s for _, s in reordered] == [s for _, s in plain], "scores keep falling with rank"


def test_a_cross_encoder_that_cannot_load_is_named_with_the_way_out(tmp_path) -> None:
    with pytest.raises(CrossEncoderUnavailable, match="RAGQA_CROSS_ENCODER=false") as missing:
        CrossEncoder(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(missing.value)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for name in ("card.json", "tokenizer.json"):
        (corrupt / name).write_bytes((DEFAULT_CROSS_ENCODER / name).read_bytes())
    (corrupt / MODEL_FILE).write_bytes(b"not a model")
    with pytest.raises(CrossEncoderUnavailable, match="does not match the sha256"):
        CrossEncoder(corrupt)


def test_the_service_refuses_to_start_on_a_cross_encoder_that_cannot_load(tmp_path, monkeypatch, capsys) -> None:
    from service.__main__ import main

    monkeypatch.setenv("RAGQA_CROSS_ENCODER_MODEL", str(tmp_path / "nowhere"))
    monkeypatch.setenv("RAGQA_CORPUS_DIR", str(tmp_path / "corpus"))
    assert main(["--no-build"]) == 2
    assert "cannot load the cross-encoder" in capsys.readouterr().err
    assert not (tmp_path / "corpus").exists(), "refused before touching the corpus"
    monkeypatch.setenv("RAGQA_CROSS_ENCODER", "false")
    assert cross_encoder.from_settings(QASettings()) is None


def test_the_chunk_after_a_chunk_is_the_next_of_its_document(fake_index) -> None:
    index = _opened(fake_index)
    chunks = [c for c in index.store.chunks if c.source == index.store.chunks[0].source]
    assert len(chunks) > 1
    assert [index.retriever.next_chunk(c) for c in chunks] == [*chunks[1:], None]


def test_the_cross_encoder_rescores_only_the_best_sentences_within_their_score_range(fake_index) -> None:
    index = _opened(fake_index)
    query = index.analyze("东阿县如何开展双随机检查？")
    candidates = index.retriever.hybrid_candidates(query, 6)
    scores = np.asarray([0.9, 0.1, 0.8, 0.2, 0.7, 0.3])
    off = _ReversingCrossEncoder()
    assert Reranker(cross_encoder=off).cross_encoded_sentences(query, candidates, scores) is scores
    assert off.calls == 0, "off by default: the shipped model is not asked about sentences"
    asked = _ReversingCrossEncoder()  # prefers the third best of the three it reads (0.7), then 0.8, then 0.9
    reranker = Reranker(cross_encoder=asked, cross_sentences=3, cross_sentence_weight=1.0)
    rescored = reranker.cross_encoded_sentences(query, candidates, scores)
    assert asked.calls == 1
    assert rescored.tolist() == pytest.approx([0.7, 0.1, 0.8, 0.2, 0.9, 0.3]), "the rest keep their scores"
    tied = _ReversingCrossEncoder()
    level = np.asarray([0.5, 0.5, 0.5, 0.1, 0.1, 0.1])
    assert Reranker(cross_encoder=tied, cross_sentences=3).cross_encoded_sentences(query, candidates, level) is level
    assert tied.calls == 0, "no range to spread a blend over: not asked"
    half = Reranker(cross_encoder=_ReversingCrossEncoder(), cross_sentences=3, cross_sentence_weight=0.5)
    assert half.cross_encoded_sentences(query, candidates, scores).tolist() == pytest.approx(
        [0.8, 0.1, 0.8, 0.2, 0.8, 0.3]
    )
    passages, sentences = _ReversingCrossEncoder(), _ReversingCrossEncoder()
    own = Reranker(cross_encoder=passages, cross_sentences=3, sentence_cross_encoder=sentences)
    own.cross_encoded_sentences(query, candidates, scores)
    assert (passages.calls, sentences.calls) == (0, 1), "sentences are read by their own model when there is one"
    clear = _ReversingCrossEncoder()
    gated = Reranker(cross_encoder=clear, cross_sentences=3, cross_sentence_margin=0.05)
    assert gated.cross_encoded_sentences(query, candidates, scores) is scores, "0.9 leads 0.8 by the margin"
    close = np.asarray([0.9, 0.1, 0.88, 0.2, 0.7, 0.3])
    assert gated.cross_encoded_sentences(query, candidates, close) is not close and clear.calls == 1


def test_a_sentence_cross_encoder_loads_only_when_named_and_used(tmp_path, monkeypatch, capsys) -> None:
    from service.__main__ import main

    named = QASettings(cross_encoder_sentences=3, cross_encoder_sentence_model=DEFAULT_CROSS_ENCODER)
    assert isinstance(cross_encoder.sentence_model_from_settings(named), CrossEncoder)
    for unused in ({"cross_encoder_sentence_model": None}, {"cross_encoder_sentences": 1}, {"cross_encoder": False}):
        assert cross_encoder.sentence_model_from_settings(named.model_copy(update=unused)) is None
    monkeypatch.setenv("RAGQA_CROSS_ENCODER_SENTENCES", "3")
    monkeypatch.setenv("RAGQA_CROSS_ENCODER_SENTENCE_MODEL", str(tmp_path / "nowhere"))
    monkeypatch.setenv("RAGQA_CORPUS_DIR", str(tmp_path / "corpus"))
    assert main(["--no-build"]) == 2
    assert "RAGQA_CROSS_ENCODER_SENTENCE_MODEL names another folder" in capsys.readouterr().err
    assert not (tmp_path / "corpus").exists(), "refused before touching the corpus"
