"""How-many questions and the passages that can answer them.

"人民陪审员每天的补助标准是多少元" is a near miss when the passages about 人民陪审员 state no amount
of money: the words match, the answer is not there. A question that asks for a quantity in a unit
(多少元, 几个工作日, 多少岁, 几张) is answerable only by a passage stating a number in that unit; one
that asks a bare 多少 only by a passage stating some figure. Measured on the three dev sets: 8 more
near misses declined (7 of the policy set's 24, 1 of the reports set's 12), no answerable question lost.
The same test then applies to the sentences chosen to answer (the passage may name some other amount):
4 more policy near misses declined, no correctly answered question lost (docs/evaluation.md, v14).
"""

from __future__ import annotations

import re

# a figure, exact or approximate ("500多名", "900余名", "十来个")
_NUMERAL = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千万两零〇半]+)(?:多|余|来)?"
_COUNTED = r"(?:(?:万|亿)(?!元))"  # "约有150万": a count whose unit the sentence leaves implicit
# The unit a question asks in -> how a passage states a quantity in it.
_UNITS = {
    "元": r"(?:万|亿)?元",
    "钱": r"(?:万|亿)?元",
    "万元": r"(?:万|亿)元",
    "岁": r"周?岁",
    "周岁": r"周?岁",
    "天": r"(?:个工作)?[天日]",
    "日": r"(?:个工作)?[天日]",
    "工作日": r"个?工作日",
    "个工作日": r"个?工作日",
    "年": r"个?(?:周年|年)",
    "个月": r"个月",
    "月份": r"月",
    "小时": r"个?小时",
    "分钟": r"分钟",
    "分": r"分",
    "倍": r"倍",
    "次": r"次",
    "届": r"届",
    "条": r"条",
    "张": r"张",
    "公里": r"万?公里",
    # how many people: a count, or a share of some body ("五分之一以上的村民", "过半数", "三分之二以上通过")
    **{unit: rf"(?:{_COUNTED}?(?:人|名)|{_COUNTED}|分之|数)" for unit in ("人", "名")},
    **{unit: rf"(?:{_COUNTED}?{unit}|{_COUNTED})" for unit in ("项", "户", "家", "所", "个")},
}
_ASKED = re.compile(r"(?<![哪近这前十])(?:多少|几)(?P<unit>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + ")")
_BARE = re.compile(r"多少(?:[？?。，,]|$)|百分之几")  # "比例是多少？": some figure, in whatever unit
# any figure: a bare Arabic one ("访问次数: 581", not a list's "(1)" or "2." nor "第3条"), or a numeral with a unit
_BARE_FIGURE = r"(?<![第(\d.])\d+(?:\.\d+)?(?![)、.\d]|条|款|项|号)"
_FIGURE_UNIT = r"(?:%|个百分点|倍|万|亿|元|人|名|项|个|次|家|所|吨|公里|米|岁|年|月|日|天|小时|分|户|张|条)"
_ANY_FIGURE = re.compile(rf"{_BARE_FIGURE}|(?<!第){_NUMERAL}{_FIGURE_UNIT}|百分之|分之")


def asked_quantity(question: str) -> re.Pattern[str] | None:
    """How a text states a quantity the (normalised) question asks for (any of them, when it asks for several:
    "有效期是几年？…提前几个月…"), or None if it asks for none."""
    units = dict.fromkeys(match.group("unit") for match in _ASKED.finditer(question))
    if units:
        return re.compile(f"{_NUMERAL}(?:{'|'.join(_UNITS[unit] for unit in units)})")
    return _ANY_FIGURE if _BARE.search(question) else None
