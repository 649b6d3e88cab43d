"""How-many questions: answered only from passages that state a quantity of the asked kind."""

import pytest

from indexer.normalize import normalize_query
from qa.quantities import asked_quantity


@pytest.mark.parametrize(
    ("question", "passage", "states"),
    [
        ("东阿县开展了几次双随机抽查？", "2023年以来，共开展双随机7次，抽查部门4个", True),
        ("人民陪审员参加庭审，每天的补助标准是多少元？", "人民陪审员参加庭审的补助由人民法院发放", False),
        ("补助标准是多少元？", "每人每天补助一百五十元", True),
        ("贷款最高额度是多少万元？", "最高不超过50万元", True),
        ("几个工作日可以拿到？", "自受理之日起十五日内签发", False),
        ("几个工作日可以拿到？", "自受理之日起七个工作日内签发", True),
        ("说勉语的人大约有多少人？", "说勉语的人约有150万", True),
        ("说勉语的人大约有多少人？", "说勉语的人约有150万元资助", False),
        ("赤字率定在多少？", "赤字率拟按4%左右安排", True),
        ("赤字率定在多少？", "赤字率拟按合理水平安排", False),
        ("文章的访问次数是多少？", "访问次数: 581 作者: ahjgbzw", True),  # a bare figure
        ("去年提供了多少名辅助人员？", "提供了500多名辅助人员", True),  # approximate figures
        ("挖潜了多少个编制？", "挖潜事业编制900余个", True),
        ("需要多少人联名才能提出？", "本村五分之一以上有选举权的村民联名", True),  # a share of a body
        ("需要多少人同意？", "须经投票的村民过半数通过", True),
        ("需要多少人同意？", "须经投票通过", False),
        ("存储比例是合同价款的百分之几？", "按合同价款的3%存储", True),
        ("存储比例是合同价款的百分之几？", "适当提高存储比例", False),
        ("城镇新增就业多少人？", "城镇调查失业率5.5%左右", False),  # a rate is no count of people
        ("比例是多少？", "(1)提高存储比例", False),  # a list's number, an article's, are no figures
        ("比例是多少？", "依照第3条提高比例", False),
        ("有效期是几年？到期要提早几个月办理？", "应当于期满前3个月办理", True),  # either quantity asked
    ],
)
def test_a_passage_states_the_quantity_asked_for_or_not(question, passage, states) -> None:
    quantity = asked_quantity(normalize_query(question))
    assert quantity is not None
    assert bool(quantity.search(normalize_query(passage))) is states


@pytest.mark.parametrize("question", ["补偿包括哪几项？", "近几年推进了哪些改革？", "如何申请居住证？"])
def test_questions_that_ask_no_quantity(question) -> None:
    assert asked_quantity(normalize_query(question)) is None
