"""The training corpus: laws, judicial interpretations and local regulations that gov_docs does not hold
(none named after a law an evaluation question is about), plus the State Council work reports that no
evaluation question is about."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path

from eval.dataset import load_cases

# law_corpus_scale folders absent from gov_docs (whose laws the policy dev set asks about).
_LAW_FOLDERS = ("DLC", "司法解释", "经济法", "社会法", "民法商法", "诉讼与非诉讼程序法", "刑法", "民法典")
_UNSAFE = re.compile(r'[<>:"|?*\\/\s]')
_LAW_FILE = re.compile(r"^law_([^_]+)_")  # a law document's file name: law_<doc_id>_<title>.txt
_PLACE = re.compile(r"^(?!关于).{2,8}?(?:省|自治区|自治州|自治县|经济特区|市|县)")  # a local regulation's place
_WRITTEN_HERE = re.compile(r"^(law_[^_]+_|report_).*\.txt$")  # the files write_training_corpus writes


def bare_name(name: str) -> str:
    """A document's name without folders, training prefix, "中华人民共和国", date or extension: how a law is named
    anywhere."""
    name = re.sub(r"^(law_[^_]+_|report_)?(中华人民共和国)?", "", Path(name).name)
    return re.sub(r"(\(\d{4}-\d{2}-\d{2}\))?\.txt$", "", name)


def laws_named(title: str) -> set[str]:
    """The laws a document is named after: itself, a law it quotes (an implementing measure, a judicial
    interpretation) and, for a local regulation, its national namesake ("重庆市失业保险条例" → 失业保险条例)."""
    bare = bare_name(title)
    return {bare, _PLACE.sub("", bare), *re.findall(r"《(?:中华人民共和国)?([^》]+)》", bare)}


def short_place(title: str) -> str | None:
    """How people name a local regulation's place: "浙江" for 浙江省, "深圳" for 深圳经济特区, "景宁" for
    景宁畲族自治县; None for a national document."""
    if not (place := _PLACE.match(bare_name(title))):
        return None
    return place.group()[:2] if "自治" in place.group() else re.sub(r"经济特区$|[省市县]$", "", place.group())


def write_training_corpus(
    law_corpus: Path,
    gov_docs: Path,
    eval_sets: list[Path],
    target: Path,
    *,
    laws: int,
    seed: int,
    required: Collection[str] = (),
) -> dict[str, int]:
    """Write the `laws` sampled law documents, the `required` ones (file names the written questions are about) and
    the unused work reports as .txt files; returns counts. A sampled document named after a law an evaluation
    question is about (a local measure implementing it, an interpretation of it) is left out."""
    target.mkdir(parents=True, exist_ok=True)
    asked = {g.source for path in eval_sets for case in load_cases(path) for g in case.gold}
    evaluated = {bare_name(source) for source in asked}
    documents = _law_documents(law_corpus)
    rng = random.Random(seed)
    chosen = sorted(documents)
    rng.shuffle(chosen)
    wanted = {m.group(1) for name in required if (m := _LAW_FILE.match(name))}
    sampled = set(chosen[:laws])
    kept = [d for d in chosen if (d in sampled or d in wanted) and not laws_named(documents[d][0]) & evaluated]
    written = set()
    for doc_id in kept:
        title, passages = documents[doc_id]
        name = f"law_{doc_id}_{_UNSAFE.sub('_', title)[:80]}.txt"
        (target / name).write_text(f"# {title}\n\n" + "\n".join(passages) + "\n", "utf-8")
        written.add(name)
    reports = sorted((gov_docs / "government_work_reports").glob("*.txt"))
    unused = [r for r in reports if f"government_work_reports/{r.name}" not in asked]
    for report in unused:
        (target / f"report_{report.name}").write_text(report.read_text(encoding="utf-8"), "utf-8")
        written.add(f"report_{report.name}")
    # a written question's document must be there (and never one an evaluation question is about)
    if missing := set(required) - written:
        raise ValueError(f"documents of written questions not in the training corpus: {sorted(missing)[:5]}")
    for stale in target.iterdir():  # left by an earlier sample: the index would read it
        if _WRITTEN_HERE.match(stale.name) and stale.name not in written:
            stale.unlink()
    return {"laws": len(kept), "reports": len(unused)}


def _law_documents(law_corpus: Path) -> dict[str, tuple[str, list[str]]]:
    folders = {}
    for line in (law_corpus / "documents.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        doc_id, title, path, *_ = line.split("\t")
        if path.split("/")[0] in _LAW_FOLDERS:
            folders[doc_id] = title
    passages: dict[str, list[str]] = defaultdict(list)
    with (law_corpus / "passages.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["doc_id"] in folders:
                passages[row["doc_id"]].append(row["text"])
    return {doc_id: (folders[doc_id], texts) for doc_id, texts in passages.items()}
