"""Latency of the classifier at 6, 4, 3 and 2 encoder layers (the table in the model card).

    python -m models.training.layer_latency [--layers 6,4,3,2] [--tokens 64] [--runs 300]
    python -m models.training.layer_latency --ab models/l2_classifier.onnx [--rounds 60]
    python -m models.training.layer_latency --compare models OTHER_MODEL_DIR [--rounds 60]
    python -m models.training.layer_latency --shapes 0,3:1024:12 0,3:512:4 [--rounds 30]

Builds each pruned variant from the base weights (the head is untrained: latency
does not depend on the weights), exports FP32 and INT8 ONNX to a temporary folder
and times one-thread inference on a fixed-length input after a warm-up.

``--ab MODEL`` times one model with onnxruntime's full fusions against the app's
session (:data:`desktop.detection.model.DISABLED_OPTIMIZERS` off), interleaved in
short bursts so that the VM's drift hits both alike.

``--shapes LAYERS:FFN:HEADS[:POOL] ...`` builds each shape from the base weights (the layers kept,
the feed-forward neurons and attention heads kept per layer, and ``query`` for a query-pooled last
layer), exports it to INT8 and times the app's session on all of them interleaved: the
accuracy/latency table of pruned networks in the card.

``--compare DIR DIR ...`` times the app's runner (``OnnxClassifier.predict_windows``:
tokenisation, windowing, session, softmax) on model folders, interleaved the same way.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from desktop.detection.model import DISABLED_OPTIMIZERS, build_session
from models.training.common import (
    LABELS,
    POOLS,
    base_model_dir,
    build_model,
    heads_of,
    shrink_ffn,
    shrink_heads,
)
from models.training.export import export_onnx, quantize

SPREAD = {6: [0, 1, 2, 3, 4, 5], 4: [0, 2, 4, 5], 3: [0, 2, 4], 2: [0, 3]}


def feed_for(sess, tokens: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feed = {"input_ids": rng.integers(1000, 20000, (1, tokens)).astype(np.int64),
            "attention_mask": np.ones((1, tokens), np.int64), "token_type_ids": np.zeros((1, tokens), np.int64)}
    return {i.name: feed[i.name] for i in sess.get_inputs()}


def timed_runs(call: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return times


def time_session(path: Path, tokens: int, runs: int) -> tuple[float, float, float]:
    sess = build_session(path, threads=1)
    run = partial(sess.run, None, feed_for(sess, tokens))
    timed_runs(run, 20)
    times = timed_runs(run, runs)
    return tuple(float(np.percentile(times, q)) for q in (50, 95, 99))


def interleaved(calls: dict[str, Callable[[], object]], title: str, rounds: int, burst: int = 25) -> None:
    """Warm each call up, then time them in turn, ``burst`` runs each, for ``rounds`` rounds, so
    that the VM's drift hits every one alike; print p50/p95/p99 per call."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        timed_runs(call, 50)
    for _ in range(rounds):
        for name, call in calls.items():
            times[name] += timed_runs(call, burst)
    print(f"{title}, 1 thread, {rounds} interleaved rounds of {burst} runs")
    for name, t in times.items():
        p50, p95, p99 = (float(np.percentile(t, q)) for q in (50, 95, 99))
        print(f"  {name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms")


def ab_fusion(path: Path, tokens: int, rounds: int) -> None:
    sessions = {"onnxruntime default fusions": build_session(path, threads=1, disabled_optimizers=()),
                "app session (fusions off: " + ", ".join(DISABLED_OPTIMIZERS) + ")": build_session(path, threads=1)}
    calls = {name: partial(s.run, None, feed_for(s, tokens)) for name, s in sessions.items()}
    interleaved(calls, f"{path.name}, {tokens} tokens", rounds)


def compare_dirs(dirs: list[Path], tokens: int, rounds: int) -> None:
    from desktop.bench import text_of_tokens
    from desktop.detection.model import OnnxClassifier

    clfs = {str(d): OnnxClassifier.from_dir(d, threads=1) for d in dirs}
    text = text_of_tokens(tokens, next(iter(clfs.values())).count_tokens)
    interleaved({name: partial(clf.predict_windows, text) for name, clf in clfs.items()},
                f"predict_windows, {tokens} tokens", rounds)


def parse_shape(text: str) -> tuple[list[int], int, int, str]:
    """``"0,3:512:4"`` -> layers [0, 3], 512 feed-forward neurons, 4 heads, mean pooling;
    ``"0,3:1024:6:query"`` -> the same with the last layer query-pooled (``train --pool query``)."""
    try:
        layers, ffn, heads, *pool = text.split(":")
        if len(pool) > 1 or (pool and pool[0] not in POOLS):
            raise ValueError(text)
        return [int(x) for x in layers.split(",")], int(ffn), int(heads), pool[0] if pool else "mean"
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected LAYERS:FFN:HEADS[:POOL], e.g. 0,3:512:4 or 0,3:1024:6:query") from None


def time_shapes(shapes: list[tuple[list[int], int, int, str]], tokens: int, rounds: int, base: Path | None = None,
                tiny: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        calls = {}
        for layers, ffn, heads, pool in shapes:
            model = build_model(None if tiny else (base or base_model_dir()), len(LABELS), layers, tiny=tiny, pool=pool)
            shrink_ffn(model, ffn)
            if heads != heads_of(model):
                shrink_heads(model, heads)
            name = f"layers {','.join(map(str, layers))}, FFN {ffn}, {heads} heads" + (", query-pooled" if pool == "query" else "")
            fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / f"{len(calls)}.onnx"
            export_onnx(model, fp32)
            quantize(fp32, int8)
            sess = build_session(int8, threads=1)
            calls[f"{name} ({int8.stat().st_size / 1e6:.1f} MB)"] = partial(sess.run, None, feed_for(sess, tokens))
        interleaved(calls, f"INT8 session, {tokens} tokens", rounds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default="6,4,3,2")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--ab", type=Path, default=None, help="A/B an ONNX model: default fusions against the app's session")
    ap.add_argument("--compare", type=Path, nargs="+", default=None,
                    help="time the app's runner on these model folders, interleaved")
    ap.add_argument("--shapes", type=parse_shape, nargs="+", default=None,
                    help="time pruned shapes LAYERS:FFN:HEADS[:POOL] (e.g. 0,3:512:4 or 0,3:1024:6:query), interleaved")
    ap.add_argument("--tiny-random", action="store_true", help="with --shapes: the tests' tiny BERT")
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args(argv)
    if args.shapes:
        time_shapes(args.shapes, args.tokens, args.rounds, tiny=args.tiny_random)
        return 0
    if args.compare:
        compare_dirs(args.compare, args.tokens, args.rounds)
        return 0
    if args.ab:
        ab_fusion(args.ab, args.tokens, args.rounds)
        return 0
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
