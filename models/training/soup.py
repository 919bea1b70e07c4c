"""Average the weights of several fine-tuned runs (a "model soup") and keep the best on validation.

    python -m models.training.soup --data models/training/out/data --out models/training/out/soup \
        --runs models/training/out/run_s1 models/training/out/run_s2 ...

Runs that start from the same weights and differ in their settings (learning rate, distillation
alpha and T) can be averaged parameter by parameter: the average is one network of the same size
and speed, and it often beats every ingredient (Wortsman et al., 2022, "Model soups"). The same
start means the same base, kept layers and seed (the seed draws the classification head), or the
same ``--init-from`` run; runs that do not share one are refused unless ``--allow-different-starts``
(a diagnosis: their heads began in different places, so their average is rarely a good model).
The ``--init-from`` chain is followed to its first run, so a run and its continuation share a start.
Every candidate is scored as ``export`` would ship it: temperature fitted on validation,
per-class thresholds for a benign false-alarm budget, then macro-F1 at those thresholds.

- ``uniform``: the mean of all runs;
- ``greedy``: runs in order of their own score, each added only if the mean still scores higher.

The best of the single runs, the uniform soup and the greedy soup, on validation only, is written
to ``OUT/best.pt`` with a ``train_config.json`` that names its ingredients; ``OUT/soup.json``
holds every score. The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from models.training.common import (
    LABELS,
    attention_width_of,
    encode,
    ffn_size_of,
    load_tokenizer,
    load_weights,
    model_of_run,
    read_rows,
    softmax,
)


def average(states: list[dict]) -> dict:
    """Parameter-wise mean of state dicts with the same keys and shapes (integer buffers: the first)."""
    keys = set(states[0])
    for s in states[1:]:
        if set(s) != keys:
            raise ValueError(f"runs differ in parameters: {sorted(keys ^ set(s))[:5]}")
    out = {}
    for k, v in states[0].items():
        if any(s[k].shape != v.shape for s in states):
            raise ValueError(f"runs differ in the shape of {k}")
        out[k] = sum(s[k].float() for s in states) / len(states) if v.is_floating_point() else v.clone()
    return out


def score(logits: np.ndarray, y: np.ndarray, budget: float, recall_floor: float = 0.0) -> dict:
    """Macro-F1 at the temperature and thresholds ``export`` would ship (fitted on these rows)."""
    from models.training.export import calibrate, decide
    from models.training.train import macro_f1

    t, th = calibrate(logits, y, budget, recall_floor)
    pred = decide(softmax(logits, t), th)
    benign = y == 0
    return {"macro_f1": round(macro_f1(y, pred), 4), "benign_fpr": round(float((pred[benign] != 0).mean()), 4),
            "recall": {LABELS[c]: round(float((pred[y == c] == c).mean()), 4) for c in range(len(LABELS)) if (y == c).any()}}


def start_of(cfg: dict, depth: int = 32) -> str:
    """Where a run's weights began: the seed of the first run in its ``--init-from`` chain.

    A run continued from another (``--init-from``) starts where that run started, so a run and
    its continuation, or two continuations of one run, share a start (averaging them is
    interpolating along one fine-tuning path). A link whose ``train_config.json`` cannot be read
    is its own start, named by its path.
    """
    init = cfg.get("init_from")
    if not init:
        return f"seed {cfg.get('seed')}"
    parent = Path(init) / "train_config.json"
    if depth <= 0 or not parent.is_file():
        return str(init)
    return start_of(json.loads(parent.read_text()), depth - 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, nargs="+", required=True, help="training outputs (best.pt, train_config.json)")
    ap.add_argument("--data", type=Path, required=True, help="built dataset (val.jsonl.gz is read)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-benign-fpr", type=float, default=0.008, help="the false-alarm budget the thresholds are chosen for")
    ap.add_argument("--max-val", type=int, default=0, help="cap validation rows (tests)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recall-floor", type=float, default=0.0,
                    help="score with export's recall floor (export --recall-floor), so the choice matches the shipped thresholds")
    ap.add_argument("--take", choices=("best", "uniform"), default="best",
                    help="best: the single run, uniform or greedy soup with the best validation score; "
                         "uniform: the mean of all the runs, whatever the scores (a rule fixed beforehand)")
    ap.add_argument("--allow-different-starts", action="store_true",
                    help="average runs that began from different weights (different seeds, no common --init-from)")
    args = ap.parse_args(argv)

    import torch

    from models.training.train import predict_logits

    torch.set_num_threads(args.threads)
    cfgs = [json.loads((r / "train_config.json").read_text()) for r in args.runs]
    layers = {tuple(c.get("keep_layers") or ()) for c in cfgs}
    bases = {c["base"] for c in cfgs}
    states = [torch.load(r / "best.pt", map_location="cpu") for r in args.runs]
    ffn = {ffn_size_of(s) for s in states}
    heads = {attention_width_of(s) for s in states}
    pools = {c.get("pool", "mean") for c in cfgs}
    if len(layers) != 1 or len(bases) != 1 or len(ffn) != 1 or len(heads) != 1 or len(pools) != 1:
        sys.exit(f"soup: runs must share their base, kept layers, feed-forward size, attention heads and pooling "
                 f"(got layers {sorted(layers)}, bases {sorted(bases)}, ffn sizes {sorted(ffn)}, "
                 f"attention widths {sorted(heads)}, pooling {sorted(pools)})")
    starts = {start_of(c) for c in cfgs}
    if len(starts) != 1 and not args.allow_different_starts:
        sys.exit(f"soup: runs start from different weights ({', '.join(sorted(starts))}); "
                 "train them from one seed or one --init-from run, or pass --allow-different-starts")
    base = Path(cfgs[0]["base"])
    model = model_of_run(cfgs[0])
    tok = load_tokenizer(base / "tokenizer.json", int(cfgs[0]["max_length"]))
    val = read_rows(args.data / "val.jsonl.gz")
    if args.max_val:
        val = val[: args.max_val]
    enc = encode(tok, val)

    def evaluate(state: dict) -> dict:
        load_weights(model, state)
        return score(predict_logits(model, enc.ids, torch.device("cpu")), enc.labels, args.max_benign_fpr, args.recall_floor)

    single = {str(r): evaluate(s) for r, s in zip(args.runs, states, strict=True)}
    for r, s in single.items():
        print(f"{r}: val macro-F1 {s['macro_f1']} (benign FPR {s['benign_fpr']})", flush=True)
    order = sorted(range(len(states)), key=lambda i: -single[str(args.runs[i])]["macro_f1"])
    uniform = evaluate(average(states))
    print(f"uniform soup of {len(states)}: val macro-F1 {uniform['macro_f1']}", flush=True)
    chosen, best = [order[0]], single[str(args.runs[order[0]])]
    for i in order[1:]:
        trial = evaluate(average([states[j] for j in chosen + [i]]))
        print(f"greedy: + {args.runs[i]} -> {trial['macro_f1']}", flush=True)
        if trial["macro_f1"] > best["macro_f1"]:
            chosen, best = chosen + [i], trial
    greedy = best
    candidates = {"single": ([order[0]], single[str(args.runs[order[0]])]), "uniform": (list(range(len(states))), uniform),
                  "greedy": (chosen, greedy)}
    kind = "uniform" if args.take == "uniform" else max(candidates, key=lambda k: (candidates[k][1]["macro_f1"], -len(candidates[k][0])))
    members, result = candidates[kind]
    print(f"chosen: {kind} of {len(members)} run(s), val macro-F1 {result['macro_f1']}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(average([states[i] for i in members]), args.out / "best.pt")
    cfg = dict(cfgs[members[0]])
    cfg.update(out=str(args.out), soup={"kind": kind, "runs": [str(args.runs[i]) for i in members]})
    (args.out / "train_config.json").write_text(json.dumps(cfg, indent=1))
    (args.out / "soup.json").write_text(json.dumps({"single": single, "uniform": uniform, "greedy": {"runs": [str(args.runs[i]) for i in chosen], **greedy},
                                                    "chosen": kind, "max_benign_fpr": args.max_benign_fpr,
                                                    "recall_floor": args.recall_floor}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
