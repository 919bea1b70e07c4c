"""Latency of the classifier at 6, 4, 3 and 2 encoder layers (the table in the model card).

    python -m models.training.layer_latency [--layers 6,4,3,2] [--tokens 64] [--runs 300]

Builds each pruned variant from the base weights (the head is untrained: latency
does not depend on the weights), exports FP32 and INT8 ONNX to a temporary folder
and times one-thread inference on a fixed-length input after a warm-up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from models.training.common import LABELS, base_model_dir, build_model
from models.training.export import export_onnx, quantize

SPREAD = {6: [0, 1, 2, 3, 4, 5], 4: [0, 2, 4, 5], 3: [0, 2, 4], 2: [0, 3]}


def time_session(path: Path, tokens: int, runs: int) -> tuple[float, float, float]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"input_ids": rng.integers(1000, 20000, (1, tokens)).astype(np.int64),
            "attention_mask": np.ones((1, tokens), np.int64), "token_type_ids": np.zeros((1, tokens), np.int64)}
    feed = {i.name: feed[i.name] for i in sess.get_inputs()}
    for _ in range(20):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t) * 1000)
    return tuple(float(np.percentile(times, q)) for q in (50, 95, 99))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default="6,4,3,2")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args(argv)
    print(f"| layers | format | size MB | p50 ms | p95 ms | p99 ms |  ({args.tokens} tokens, 1 thread, {args.runs} runs)")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.layers.split(",")]:
            model = build_model(base_model_dir(), len(LABELS), SPREAD[n])
            fp32, int8 = Path(tmp) / f"m{n}.onnx", Path(tmp) / f"q{n}.onnx"
            export_onnx(model, fp32)
            quantize(fp32, int8)
            for name, path in (("fp32", fp32), ("int8", int8)):
                p50, p95, p99 = time_session(path, args.tokens, args.runs)
                print(f"| {n} | {name} | {path.stat().st_size / 1e6:.1f} | {p50:.2f} | {p95:.2f} | {p99:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
