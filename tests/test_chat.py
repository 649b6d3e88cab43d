"""Chat logic: follow-up questions, reply text, limits, streaming pieces, upstream marker checks."""

import pytest

from qa.answer import Answer, Citation
from qa.chat import Message, question_in_context, stream_pieces
from qa.llm import checked_markers
from qa.query import Query, analyze
from qa.reply import approximate_tokens, compose_reply, quote_excerpt


def _in_context(messages: list[Message]) -> str:
    return question_in_context(messages, _analyze, max_chars=1000).text


def _analyze(text: str) -> Query:
    return analyze(text, embed=lambda _: pytest.fail("chat context needs no embedding"))


def test_a_follow_up_naming_a_place_replaces_the_previous_place() -> None:
    messages = [
        Message("user", "东阿县如何学习贯彻《条例》？"),
        Message("assistant", "……[1]"),
        Message("user", "那郓城县呢？"),
    ]
    assert _in_context(messages) == "郓城县如何学习贯彻《条例》？"


def test_a_follow_up_without_a_place_is_appended_to_the_previous_question() -> None:
    messages = [Message("user", "东阿县开展了几次双随机抽查？"), Message("user", "那抽查了多少部门呢？")]
    assert _in_context(messages) == "东阿县开展了几次双随机抽查，抽查了多少部门"


def test_a_full_question_stands_alone() -> None:
    messages = [Message("user", "东阿县如何开展双随机检查"), Message("user", "郓城县挖潜了多少事业编制用于教师招考？")]
    assert _in_context(messages) == "郓城县挖潜了多少事业编制用于教师招考？"


def test_no_user_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="user message"):
        _in_context([Message("system", "你是助手"), Message("user", "  ")])


def _answer(question: str = "东阿县开展了几次双随机抽查？") -> Answer:
    citation = Citation(1, "001.txt", "001.txt#13", 10, 30, "2019年以来,共开展双随机7次")
    return Answer(question, True, "共开展双随机7次[1]", [citation], [])


def _title(source: str) -> str:
    return "东阿县2023年(nián)机构编制工作总结?！稐l例》"  # pinyin and mojibake, as raw titles have them


def test_reply_has_markers_and_a_references_list_of_clean_titles_in_the_questions_language() -> None:
    reply = compose_reply(_answer(), _title)
    title = "东阿县2023年机构编制工作总结。《條例》"
    assert reply.text == f"共开展双随机7次[1]\n\n参考资料：\n[1] {title}：“2019年以来,共开展双随机7次”"
    assert [(r.start, r.end, r.title) for r in reply.references] == [(8, 11, title)]
    assert reply.text[8:11] == "[1]" and reply.finish_reason == "stop"
    assert "參考資料：" in compose_reply(_answer("東阿縣開展了幾次雙隨機抽查？"), _title).text
    refusal = Answer("如何办理护照？", False, "资料中未找到与该问题相关的内容。", [], [])
    assert compose_reply(refusal, _title).text == "资料中未找到与该问题相关的内容。"


def test_max_tokens_cuts_the_answer_never_the_references() -> None:
    long = Answer("东阿县开展了几次双随机抽查？", True, "共开展双随机7次[1]，" * 20, _answer().citations, [])
    full = compose_reply(long, _title)
    cut = compose_reply(long, _title, max_tokens=30)
    references = full.text[full.text.index("\n\n参考资料") :]
    assert cut.finish_reason == "length" and cut.text.endswith(references)
    answer = cut.text.removesuffix(references)
    assert approximate_tokens(answer) <= 30 and answer.count("[") == answer.count("]"), "no marker is split"
    assert full.text.startswith(answer) and len(answer) > 10


def test_a_stop_sequence_cuts_where_it_occurs() -> None:
    reply = compose_reply(_answer(), _title, stop=["\n\n"])
    assert reply.text == "共开展双随机7次[1]" and reply.references[0].start == 8


def test_quotes_are_cut_at_a_sentence_end() -> None:
    quote = "东阿县深化改革。" * 6 + "随后全面推开并取得成效，群众满意度显著提升"
    assert quote_excerpt(quote, 60) == "东阿县深化改革。" * 6
    assert quote_excerpt("短句", 60) == "短句"
    assert quote_excerpt("没有句号" * 30, 20) == "没有句号" * 5 + "…"


def test_token_estimate_counts_cjk_characters_and_latin_words() -> None:
    assert approximate_tokens("东阿县") == 3 and approximate_tokens("abcdefgh") == 2


def test_streamed_pieces_rebuild_the_text_and_never_split_a_marker() -> None:
    text = "东阿县" * 7 + "[12]" + "随机" * 20 + "[3]"
    pieces = list(stream_pieces(text))
    assert "".join(pieces) == text and len(pieces) > 2
    assert all(p.count("[") == p.count("]") for p in pieces)


def test_markers_outside_the_given_passages_are_dropped_and_the_rest_renumbered() -> None:
    text, cited = checked_markers("东阿县共开展双随机7次[3]。另有说法[9]。反馈问题18项【1】，抽查[3,1]。", 5)
    assert text == "东阿县共开展双随机7次[1]。另有说法。反馈问题18项[2]，抽查[1][2]。"
    assert cited == [3, 1]
    assert checked_markers("没有依据[7]", 5) == ("没有依据", [])
