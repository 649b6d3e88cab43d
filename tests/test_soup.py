"""A soup of cross-encoders: the average of their weights, quantised again, served like any cross-encoder."""

import hashlib
import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from qa.cross_encoder import DEFAULT_CROSS_ENCODER, MODEL_FILE, CrossEncoder
from training.__main__ import main

QUESTION = "创业担保贷款需要什么担保"
PASSAGES = ["该贷款纯信用，不需要任何抵押或担保", "为支持小微企业发展，设立创业担保贷款", "本办法自发布之日起施行"]
CLASSIFIER = "model.classifier.weight_Transposed_scale"


def _scaled_copy(folder, factor: float):
    """The shipped cross-encoder with its classifier's weights multiplied by `factor` (its card made to match)."""
    shutil.copytree(DEFAULT_CROSS_ENCODER, folder)
    graph = onnx.load(str(folder / MODEL_FILE))
    for tensor in graph.graph.initializer:
        if tensor.name == CLASSIFIER:
            tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * np.float32(factor), tensor.name))
    onnx.save(graph, str(folder / MODEL_FILE))
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    card["sha256"] = hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def _bias() -> float:
    tensors = onnx.load(str(DEFAULT_CROSS_ENCODER / MODEL_FILE)).graph.initializer
    return float(next(numpy_helper.to_array(t) for t in tensors if t.name == "model.classifier.bias")[0])


def test_a_soup_of_one_model_with_itself_is_that_model(tmp_path) -> None:
    assert main(["soup", str(DEFAULT_CROSS_ENCODER), str(DEFAULT_CROSS_ENCODER), "--out", str(tmp_path / "soup")]) == 0
    shipped = CrossEncoder(DEFAULT_CROSS_ENCODER, threads=1).scores(QUESTION, PASSAGES)
    assert np.array_equal(CrossEncoder(tmp_path / "soup", threads=1).scores(QUESTION, PASSAGES), shipped)
    card = json.loads((tmp_path / "soup" / "card.json").read_text(encoding="utf-8"))
    assert card["command"].startswith("python -m training") and len(card["members"]) == 2
    assert "non-commercial" in card["base_model"]


def test_a_soup_averages_its_members_weights(tmp_path) -> None:
    # the members differ only in the classifier's weights (1x and 3x): the soup's are 2x, so its logits less the
    # bias are twice the shipped model's (up to int8 rounding)
    tripled = _scaled_copy(tmp_path / "tripled", 3.0)
    assert main(["soup", str(DEFAULT_CROSS_ENCODER), str(tripled), "--out", str(tmp_path / "soup")]) == 0
    bias = _bias()
    shipped = CrossEncoder(DEFAULT_CROSS_ENCODER, threads=1).scores(QUESTION, PASSAGES) - bias
    souped = CrossEncoder(tmp_path / "soup", threads=1).scores(QUESTION, PASSAGES) - bias
    assert np.allclose(souped, 2 * shipped, rtol=0.02, atol=0.02)


def test_a_member_not_matching_its_card_is_refused(tmp_path) -> None:
    member = shutil.copytree(DEFAULT_CROSS_ENCODER, tmp_path / "member")
    (member / MODEL_FILE).write_bytes((member / MODEL_FILE).read_bytes() + b"\0")
    with pytest.raises(ValueError, match="does not match the sha256"):
        main(["soup", str(DEFAULT_CROSS_ENCODER), str(member), "--out", str(tmp_path / "soup")])
