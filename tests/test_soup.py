"""A soup of cross-encoders: the average of their weights, quantised again, served like any cross-encoder."""

import hashlib
import json
import shutil
from collections.abc import Callable

import numpy as np
import onnx
from onnx import numpy_helper

from qa.cross_encoder import DEFAULT_CROSS_ENCODER, MODEL_FILE, CrossEncoder
from training.__main__ import main
from training.soup import _dequantised

QUESTION = "创业担保贷款需要什么担保"
PASSAGES = ["该贷款纯信用，不需要任何抵押或担保", "为支持小微企业发展，设立创业担保贷款", "本办法自发布之日起施行"]
CLASSIFIER_SCALE = "model.classifier.weight_Transposed_scale"
SQUARE = "onnx::MatMul_688"  # a 512 x 512 matrix product's weight, int8 per output column
EMBEDDINGS = "model.bert.embeddings.word_embeddings.weight"  # uint8 per tensor
LAYER_NORM = "model.bert.encoder.layer.0.output.LayerNorm.bias"  # a float weight


def _tensors(folder) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(folder / MODEL_FILE)).graph.initializer}


def _changed(folder, changes: dict[str, Callable[[np.ndarray], np.ndarray]]):
    """The shipped cross-encoder copied to `folder` with these weights changed (its card made to match)."""
    shutil.copytree(DEFAULT_CROSS_ENCODER, folder)
    graph = onnx.load(str(folder / MODEL_FILE))
    for tensor in graph.graph.initializer:
        if tensor.name in changes:
            tensor.CopyFrom(numpy_helper.from_array(changes[tensor.name](numpy_helper.to_array(tensor)), tensor.name))
    onnx.save(graph, str(folder / MODEL_FILE))
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    card["sha256"] = hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def _soup(tmp_path, *members) -> int:
    return main(["soup", *map(str, members), "--out", str(tmp_path / "soup")])


def test_a_soup_of_one_model_with_itself_has_its_weights_and_scores(tmp_path) -> None:
    assert _soup(tmp_path, DEFAULT_CROSS_ENCODER, DEFAULT_CROSS_ENCODER) == 0
    shipped, souped = _tensors(DEFAULT_CROSS_ENCODER), _tensors(tmp_path / "soup")
    assert shipped.keys() == souped.keys() and all(np.array_equal(shipped[n], souped[n]) for n in shipped)
    scores = CrossEncoder(DEFAULT_CROSS_ENCODER, threads=1).scores(QUESTION, PASSAGES)
    assert np.array_equal(CrossEncoder(tmp_path / "soup", threads=1).scores(QUESTION, PASSAGES), scores)
    card = json.loads((tmp_path / "soup" / "card.json").read_text(encoding="utf-8"))
    assert [member["sha256"] for member in card["members"]] == [json.loads(
        (DEFAULT_CROSS_ENCODER / "card.json").read_text(encoding="utf-8"))["sha256"]] * 2  # fmt: skip
    assert "non-commercial" in card["base_model"] and card["max_length"] == card["members"][0]["max_length"]


def test_a_soup_averages_every_kind_of_weight(tmp_path) -> None:
    other = _changed(tmp_path / "other", {
        SQUARE + "_scale": lambda scale: scale * np.float32(3),
        EMBEDDINGS + "_scale": lambda scale: scale * np.float32(3),
        LAYER_NORM: lambda bias: bias + np.float32(1),
    })  # fmt: skip
    assert _soup(tmp_path, DEFAULT_CROSS_ENCODER, other) == 0
    shipped, changed, souped = _tensors(DEFAULT_CROSS_ENCODER), _tensors(other), _tensors(tmp_path / "soup")
    for name in (SQUARE, EMBEDDINGS):
        mean = (_dequantised(shipped, name) + _dequantised(changed, name)) / 2
        step = souped[name + "_scale"].max()  # rounding to the nearest level is off by half a step at most
        assert np.abs(_dequantised(souped, name) - mean).max() <= step / 2 + 1e-6, name
    assert np.allclose(souped[LAYER_NORM], shipped[LAYER_NORM] + 0.5)


def test_a_soup_of_two_classifiers_scores_as_their_average(tmp_path) -> None:
    # the members differ only in the classifier's weights (1x and 3x): the soup's are 2x, so its logits less the
    # bias are twice the shipped model's (up to int8 rounding)
    tripled = _changed(tmp_path / "tripled", {CLASSIFIER_SCALE: lambda scale: scale * np.float32(3)})
    assert _soup(tmp_path, DEFAULT_CROSS_ENCODER, tripled) == 0
    bias = float(_tensors(DEFAULT_CROSS_ENCODER)["model.classifier.bias"][0])
    shipped = CrossEncoder(DEFAULT_CROSS_ENCODER, threads=1).scores(QUESTION, PASSAGES) - bias
    souped = CrossEncoder(tmp_path / "soup", threads=1).scores(QUESTION, PASSAGES) - bias
    assert np.allclose(souped, 2 * shipped, rtol=0.02, atol=0.02)


def test_members_that_cannot_be_averaged_are_refused(tmp_path, capsys) -> None:
    unsigned = shutil.copytree(DEFAULT_CROSS_ENCODER, tmp_path / "unsigned")
    (unsigned / MODEL_FILE).write_bytes((unsigned / MODEL_FILE).read_bytes() + b"\0")
    assert _soup(tmp_path, DEFAULT_CROSS_ENCODER, unsigned) == 2
    assert "does not match the sha256" in capsys.readouterr().err
    wider = _changed(tmp_path / "wider", {})
    card = json.loads((wider / "card.json").read_text(encoding="utf-8"))
    (wider / "card.json").write_text(json.dumps({**card, "max_length": 256}), encoding="utf-8")
    assert _soup(tmp_path, DEFAULT_CROSS_ENCODER, wider) == 2
    assert "windows of different lengths" in capsys.readouterr().err
    assert _soup(tmp_path, DEFAULT_CROSS_ENCODER) == 2 and "at least two" in capsys.readouterr().err
    assert not (tmp_path / "soup").exists()


def test_a_soup_is_never_written_over_a_member(tmp_path, capsys) -> None:
    member = shutil.copytree(DEFAULT_CROSS_ENCODER, tmp_path / "member")
    before = (member / MODEL_FILE).read_bytes()
    assert main(["soup", str(member), str(DEFAULT_CROSS_ENCODER), "--out", str(member)]) == 2
    assert "is a member" in capsys.readouterr().err and (member / MODEL_FILE).read_bytes() == before
