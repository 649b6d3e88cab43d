"""python -m indexer: stats prints the manifest, bad input exits 2 with a message."""

import json

from indexer.__main__ import main


def test_stats_prints_the_manifest_summary(fake_index, capsys) -> None:
    settings, _ = fake_index
    assert main(["stats", "--index", str(settings.index_dir)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["counts"]["documents"] == 5 and manifest["files"] == 5
    assert manifest["chunking"] == {"size": 200, "overlap": 40, "version": 2}


def test_stats_without_an_index_exits_2(tmp_path, capsys) -> None:
    assert main(["stats", "--index", str(tmp_path / "none")]) == 2
    assert "python -m indexer build" in capsys.readouterr().err


def test_build_of_a_missing_corpus_exits_2(tmp_path, capsys) -> None:
    assert main(["build", "--corpus", str(tmp_path / "nowhere"), "--index", str(tmp_path / "i"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_chunk_overlap_not_below_size_exits_2(tmp_path, capsys) -> None:
    paths = ["--corpus", str(tmp_path), "--index", str(tmp_path / "i")]
    assert main(["build", *paths, "--chunk-size", "50", "--chunk-overlap", "50"]) == 2
    assert "chunk_overlap must be smaller than chunk_size" in capsys.readouterr().err
