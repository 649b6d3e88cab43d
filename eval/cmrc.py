"""Converts the CMRC 2018 retrieval set (../shared/extdata/cmrc2018_dev_retrieval) to the EVAL.md format.

Each paragraph becomes one corpus file `<id>.txt` (title line, then the paragraph); each question
becomes a case whose gold is that paragraph with the answer spans as evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

_PROVENANCE = """# CMRC 2018 dev set as passage retrieval (general-domain control)

Converted by `python -m eval convert-cmrc` from `../shared/extdata/cmrc2018_dev_retrieval/`
(`queries_300.jsonl`, `corpus.jsonl`), itself derived from `ymcui/cmrc2018` commit
`c0eb1b6ba219847457e6af3180da722bbeb656af`, file `squad-style-data/cmrc2018_dev.json`.
Paper: Cui et al., "A Span-Extraction Dataset for Chinese Machine Reading Comprehension",
EMNLP-IJCNLP 2019.

**Licence: CC BY-SA 4.0** (the data in this folder is under that licence, not the project's).

- `corpus/<id>.txt`: one file per paragraph (848): the Wikipedia article title on the first line,
  then the paragraph text.
- `cmrc2018_dev_300.jsonl`: the 300-question subset (seed 2018) in the EVAL.md format; gold is the
  one paragraph the question was written from, evidence its distinct answer spans. Every question
  is answerable; the corpus has no labels for other paragraphs.
"""


def convert(source: Path, out: Path) -> tuple[int, int]:
    """Write the corpus files and the dataset; returns (documents, questions)."""
    corpus_dir = out / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    paragraphs = [
        json.loads(line) for line in (source / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    for paragraph in paragraphs:
        text = f"{paragraph['title']}\n{paragraph['text']}\n"
        (corpus_dir / f"{paragraph['id']}.txt").write_text(text, encoding="utf-8")
    questions = [
        json.loads(line) for line in (source / "queries_300.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    with (out / "cmrc2018_dev_300.jsonl").open("w", encoding="utf-8") as handle:
        for q in questions:
            evidence = sorted({a.strip() for a in q["answers"] if a.strip()})
            gold = [{"source": f"{pid}.txt", "evidence": evidence} for pid in q["gold_ids"]]
            row = {"id": q["id"], "question": q["question"], "answerable": True, "gold": gold}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "README.md").write_text(_PROVENANCE, encoding="utf-8")
    return len(paragraphs), len(questions)
