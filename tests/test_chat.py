"""Chat logic: follow-up questions, reply text, limits, streaming pieces, upstream marker checks."""

import pytest

from qa.answer import Answer, Citation
from qa.chat import Message, apply_limits, question_in_context, reply_text, stream_pieces
from qa.llm import checked_markers
from qa.query import Query, analyze


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


def test_reply_has_markers_and_a_references_list_in_the_questions_language() -> None:
    assert reply_text(_answer()) == "共开展双随机7次[1]\n\n参考资料：\n[1] 001.txt：“2019年以来,共开展双随机7次”"
    assert "參考資料：" in reply_text(_answer("東阿縣開展了幾次雙隨機抽查？"))
    refusal = Answer("如何办理护照？", False, "资料中未找到与该问题相关的内容。", [], [])
    assert reply_text(refusal) == "资料中未找到与该问题相关的内容。"


def test_stop_and_max_tokens_cut_the_reply() -> None:
    assert apply_limits("abc[1]\n\n参考资料", None, ["\n\n"]) == ("abc[1]", "stop")
    assert apply_limits("一二三四五", 3, []) == ("一二三", "length")
    assert apply_limits("一二三", 10, ["不在"]) == ("一二三", "stop")


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
