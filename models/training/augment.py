"""Transfer rows for distillation: altered copies of training rows, scored by a teacher.

    python -m models.training.augment --data models/training/out/data --teacher models/training/out/teacher19 \
        --out models/training/out/aug --rows 24000

A 2-layer student learns more of a 6-layer teacher when it sees the teacher's scores on more text
than the labelled rows (Tang et al. 2019, "Distilling task-specific knowledge from BERT into
simple neural networks"; Jiao et al. 2020, TinyBERT). The rows made here are training rows cut
the way people copy text — a contiguous piece (``crop``), a piece with words missing (``drop``),
or the row with a benign sentence from another training row before or after it (``splice``,
text landing inside a carrier). They carry no label: the teacher's logits say what they are, and
``train --extra-rows`` trains on them with the distillation term alone.

Only training rows are used (carriers included), so nothing from validation or test reaches
training. The pick favours the classes the student misses most (command injection,
hallucination) and the benign hard negatives (twins, admin commands, true facts, security talk,
the machine's scripts); seeded, so a rebuild draws the same rows.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

from models.training.common import LABELS, read_rows, train_file_sha256

#: Expected share of each class's rows that get one altered copy (benign hard negatives: see
#: HARD_BENIGN; other benign rows fill what is left of ``--rows``).
CLASS_SHARE = {
    "command_injection": 1.0,
    "hallucination": 1.0,
    "prompt_injection": 0.25,
    "jailbreak": 0.25,
    "data_exfiltration": 0.35,
    "bias_manipulation": 0.35,
    "pii_exposure": 0.25,
}
HARD_BENIGN = re.compile(r"_twins$|^gen_admin_commands$|^gen_true_facts$|^gen_security_talk$|^machine_shell$|^tldr_pages$")
KINDS = ("crop", "drop", "splice")


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if 3 <= len(s.split()) <= 40]


def alter(text: str, kind: str, rng: random.Random, carriers: list[str]) -> str | None:
    """One altered copy of ``text`` (None when the text is too short for ``kind``)."""
    words = text.split()
    if kind == "crop":
        if len(words) < 6:
            return None
        n = max(4, round(len(words) * rng.uniform(0.35, 0.85)))
        start = rng.randrange(0, len(words) - n + 1)
        return " ".join(words[start : start + n])
    if kind == "drop":
        if len(words) < 5:
            return None
        kept = [w for w in words if rng.random() > 0.15]
        return " ".join(kept) if len(kept) >= 3 and len(kept) < len(words) else None
    if kind == "splice":
        carrier = rng.choice(carriers)
        return f"{carrier} {text}" if rng.random() < 0.5 else f"{text} {carrier}"
    raise ValueError(kind)


def make_rows(train: list[dict], n_rows: int, seed: int = 13) -> list[dict]:
    rng = random.Random(seed)
    carriers = [s for r in train if r["label"] == "benign" for s in _sentences(r["text"])]
    if not carriers:
        carriers = ["Thanks, see you tomorrow."]
    picked: list[int] = []
    benign_hard, benign_rest = [], []
    for i, r in enumerate(train):
        if r["label"] == "benign":
            (benign_hard if HARD_BENIGN.search(r["source"]) else benign_rest).append(i)
        elif rng.random() < CLASS_SHARE.get(r["label"], 0.0):
            picked.append(i)
    picked += benign_hard
    rng.shuffle(benign_rest)
    picked += benign_rest[: max(0, n_rows - len(picked))]
    picked = sorted(rng.sample(picked, max(n_rows, 0)) if len(picked) > n_rows else picked)
    out, seen = [], {r["text"] for r in train}
    for i in picked:
        r = train[i]
        for kind in rng.sample(KINDS, len(KINDS)):
            text = alter(r["text"], kind, rng, carriers)
            if text and text not in seen:
                seen.add(text)
                out.append({"text": text, "kind": kind, "from_label": r["label"], "source": r["source"], "group": r["group"]})
                break
    return out


def teacher_logits(teacher: Path, cfg: dict, rows: list[dict], threads: int) -> np.ndarray:
    """The logits of the run in ``teacher`` (its ``train_config.json`` read as ``cfg``) on ``rows``."""
    import torch

    from models.training.common import encode, load_tokenizer, load_weights, model_of_run
    from models.training.train import predict_logits

    if threads:
        torch.set_num_threads(threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model_of_run(cfg)
    load_weights(model, torch.load(teacher / "best.pt", map_location="cpu"))
    tok = load_tokenizer(Path(cfg["base"]) / "tokenizer.json", int(cfg["max_length"]))
    enc = encode(tok, [{"text": r["text"], "label": "benign"} for r in rows])
    return predict_logits(model.to(device), enc.ids, device)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="built dataset (train.jsonl.gz is read)")
    ap.add_argument("--teacher", type=Path, required=True, help="a training run (best.pt, train_config.json) trained on that file")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=24000, help="how many altered rows to make (at most)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    train = read_rows(args.data / "train.jsonl.gz")
    cfg = json.loads((args.teacher / "train_config.json").read_text())
    sha = train_file_sha256(args.data)
    if cfg.get("train_sha256") not in (None, sha):
        raise SystemExit(f"{args.teacher}: the teacher was trained on another training file")
    rows = make_rows(train, args.rows, args.seed)
    logits = teacher_logits(args.teacher, cfg, rows, args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out / "rows.jsonl.gz", "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    np.save(args.out / "logits.npy", logits)
    pred = logits.argmax(1)
    summary = {"rows": len(rows), "train_sha256": sha, "teacher": str(args.teacher),
               "kinds": {k: sum(r["kind"] == k for r in rows) for k in KINDS},
               "from_label": {c: sum(r["from_label"] == c for r in rows) for c in LABELS},
               "teacher_argmax": {c: int((pred == i).sum()) for i, c in enumerate(LABELS)}}
    (args.out / "augment.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
