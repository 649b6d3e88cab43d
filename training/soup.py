"""A "model soup": the uniform average of the weights of cross-encoders fine-tuned from the same base model with
different seeds, in one model of the same size and speed (Wortsman et al., 2022).

Two seeds' models disagree on the close calls. Averaging their logits evens that out but costs two models'
latency and size. Models fine-tuned from one base with a small learning rate lie in one basin of the loss, so
the average of their weights can keep what both learnt at one model's cost. The members are
the shipped int8 ONNX files: each weight is dequantised, averaged and quantised again as `quantize_dynamic`
quantises it (int8 symmetric per output column for the matrix products, uint8 asymmetric per tensor for the
embedding tables). Numpy and onnx only: no torch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from qa.cross_encoder import MODEL_FILE

_QUANTIZED, _SCALE, _ZERO_POINT = "_quantized", "_scale", "_zero_point"


def soup(members: Sequence[Path], out: Path, card: dict) -> dict:
    """Write the average of the cross-encoders in the `members` folders to `out`, a folder of its own (model, the
    members' tokenizer, card.json: `card`, the members' own cards, max_length and sha256); return the card.
    Raises ValueError for members that cannot be averaged or an `out` that is one of them."""
    if out.resolve() in {folder.resolve() for folder in members}:
        raise ValueError(f"{out} is a member: write the soup to another folder")
    cards = [json.loads((folder / "card.json").read_text(encoding="utf-8")) for folder in members]
    for folder, member in zip(members, cards, strict=True):
        if hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest() != member["sha256"]:
            raise ValueError(f"{folder / MODEL_FILE} does not match the sha256 of its card.json")
    if len({c["max_length"] for c in cards}) != 1:
        raise ValueError("the members read windows of different lengths")
    if len({(folder / "tokenizer.json").read_bytes() for folder in members}) != 1:
        raise ValueError("the members read with different tokenizers")
    graphs = [onnx.load(str(folder / MODEL_FILE)) for folder in members]
    if len({_architecture(graph) for graph in graphs}) != 1:
        raise ValueError("the members are not one architecture (other operators or weight shapes)")
    tensors = [{t.name: numpy_helper.to_array(t) for t in graph.graph.initializer} for graph in graphs]
    averaged = _averaged(tensors)
    graph = graphs[0]
    for tensor in graph.graph.initializer:
        if tensor.name in averaged:
            tensor.CopyFrom(numpy_helper.from_array(averaged[tensor.name], tensor.name))
    out.mkdir(parents=True, exist_ok=True)
    target = out / MODEL_FILE
    onnx.save(graph, str(target))
    shutil.copyfile(members[0] / "tokenizer.json", out / "tokenizer.json")
    card = {
        **card,
        "members": cards,
        "max_length": cards[0]["max_length"],
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
    }
    (out / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return card


def _architecture(graph: onnx.ModelProto) -> tuple:
    """What must match for weights to be averaged name by name: the operators and their inputs, in order, and
    each weight's name, shape and type (the exporter numbers unnamed weights: the same name must be the same
    layer)."""
    nodes = tuple((node.op_type, tuple(node.input)) for node in graph.graph.node)
    weights = tuple((t.name, tuple(t.dims), t.data_type) for t in graph.graph.initializer)
    return nodes, weights


def _averaged(tensors: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Every float weight averaged; every quantised one dequantised, averaged and quantised again (with its
    scale and zero point)."""
    first = tensors[0]
    quantised = {name[: -len(_QUANTIZED)] for name in first if name.endswith(_QUANTIZED)}
    parameters = {name + suffix for name in quantised for suffix in (_SCALE, _ZERO_POINT)}
    averaged: dict[str, np.ndarray] = {}
    for name in quantised:
        mean = np.mean([_dequantised(t, name) for t in tensors], axis=0)
        averaged.update(zip(
            (name + _QUANTIZED, name + _SCALE, name + _ZERO_POINT),
            _quantised(mean, first[name + _SCALE], first[name + _ZERO_POINT]),
            strict=True,
        ))  # fmt: skip
    for name, value in first.items():
        if value.dtype == np.float32 and name not in parameters:
            averaged[name] = np.mean([t[name] for t in tensors], axis=0).astype(np.float32)
    return averaged


def _dequantised(tensors: dict[str, np.ndarray], name: str) -> np.ndarray:
    values = tensors[name + _QUANTIZED].astype(np.float32)
    scale, zero_point = tensors[name + _SCALE], tensors[name + _ZERO_POINT].astype(np.float32)
    return (values - zero_point) * scale  # a per-column scale broadcasts along the last axis


def _quantised(weight: np.ndarray, scale_like: np.ndarray, zero_point_like: np.ndarray) -> tuple[np.ndarray, ...]:
    """`weight` quantised the way the member's tensor was: uint8 asymmetric per tensor (an embedding table), or
    int8 symmetric per output column (a matrix product's weight) or per tensor."""
    if zero_point_like.dtype == np.uint8:
        low, high = min(0.0, float(weight.min())), max(0.0, float(weight.max()))
        step = float(np.float32((high - low) / 255)) if high > low else 1.0
        zero_point = np.uint8(np.clip(np.rint(-low / step), 0, 255))
        values = np.clip(np.rint(weight / step) + zero_point, 0, 255).astype(np.uint8)
        return values, np.full(scale_like.shape, step, np.float32), np.full(zero_point_like.shape, zero_point)
    axis = 0 if scale_like.ndim == 1 else None  # per column: the maximum over each column's rows
    peak = np.abs(weight).max(axis=axis)
    scales = np.where(peak > 0, peak / 127, 1.0).astype(np.float32)
    values = np.clip(np.rint(weight / scales), -127, 127).astype(np.int8)
    return values, scales.reshape(scale_like.shape), np.zeros_like(zero_point_like)
