"""Turns ../shared/extdata/law_corpus_scale/passages.jsonl into a corpus folder the indexer reads.

One text file per law (its title line, then one article per line), so the real pipeline (decoding,
normalisation, chunking at 第X条 headings, embedding) is what the benchmarks measure.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

PASSAGES = Path(__file__).resolve().parents[2] / "shared" / "extdata" / "law_corpus_scale" / "passages.jsonl"


def materialize(target: Path, *, passages: Path = PASSAGES, max_documents: int | None = None) -> Path:
    """Write the corpus under `target` (once; an existing complete folder is reused) and return it."""
    done = target / ".complete"
    if done.exists():
        return target
    laws: dict[str, list[dict]] = defaultdict(list)
    with passages.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if max_documents is None or row["doc_id"] in laws or len(laws) < max_documents:
                laws[row["doc_id"]].append(row)
    target.mkdir(parents=True, exist_ok=True)
    for doc_id, rows in laws.items():
        title = rows[0]["title"].split(" ")[0]
        body = "\n".join(row["text"] for row in rows)
        (target / f"{doc_id}.txt").write_text(f"{title}\n{body}\n", encoding="utf-8")
    done.touch()
    return target
