"""Average the logits of several teacher runs into one teacher for distillation.

    python -m models.training.ensemble --runs OUT/teacherA OUT/teacherB --out OUT/ens \\
        [--augs OUT/augA OUT/augB --aug-out OUT/augens]

Two 6-layer teachers trained with different settings (seed, learning rate, batch size) make
different mistakes; the mean of their logits is a better teacher than either (v2.10.0: 0.962
macro-F1 at the 0.8 % false-alarm budget on validation against 0.896 and 0.958). Each run's
``train_logits.npy`` and ``val_logits.npy`` (``train --save-logits``) are averaged into
``OUT``, with a ``train_config.json`` naming the training file's sha256, so that ``train
--teacher-logits OUT/train_logits.npy`` accepts them for that file and no other.

``--augs`` averages the teachers' transfer rows (``models.training.augment`` run once per
teacher, in the order of ``--runs``, with the same seed and row count, so the rows are the same)
into ``--aug-out``, for ``train --extra-rows``. Refused: runs made from different training
files, transfer rows that differ, or transfer rows not scored by the runs named, one each, in the
same order. Where a teacher has no logits for a row (NaN, a teacher carried over by
``teacher_map``), the mean is of the others; a row no teacher scored stays NaN, which ``train``
reads as "hard label only".
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from models.training.common import LABELS


def mean_logits(arrays: list[np.ndarray]) -> np.ndarray:
    """Row-wise mean of several teachers' logits, skipping a teacher's NaN rows (all NaN stays NaN)."""
    stacked = np.stack([a.astype(np.float32) for a in arrays])
    known = np.isfinite(stacked).all(axis=2, keepdims=True)
    count = known.sum(axis=0)
    total = np.where(known, stacked, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)


def _sha_of(run: Path) -> str | None:
    """The training-rows hash a teacher run records, or None."""
    path = run / "train_config.json"
    return json.loads(path.read_text()).get("train_sha256") if path.exists() else None


def average_teachers(runs: list[Path], out: Path) -> dict:
    """Mean train and validation logits of ``runs`` written to ``out``; returns the summary."""
    shas = {_sha_of(r) for r in runs}
    if len(shas) != 1 or None in shas:
        raise SystemExit(f"the teachers were trained on different (or unrecorded) training files: {sorted(map(str, shas))}")
    out.mkdir(parents=True, exist_ok=True)
    for name in ("train_logits.npy", "val_logits.npy"):
        arrays = [np.load(r / name) for r in runs]
        if len({a.shape for a in arrays}) != 1 or arrays[0].shape[1:] != (len(LABELS),):
            raise SystemExit(f"{name}: shapes differ or are not (rows, {len(LABELS)}): {[a.shape for a in arrays]}")
        np.save(out / name, mean_logits(arrays))
    summary = {"train_sha256": shas.pop(), "teachers": [str(r) for r in runs]}
    (out / "train_config.json").write_text(json.dumps(summary, indent=1))
    return summary


def average_augments(augs: list[Path], out: Path, runs: list[Path]) -> dict:
    """Mean logits of the same transfer rows scored by the teachers ``runs`` (one each, in order)."""
    if len(augs) != len(runs):
        raise SystemExit(f"{len(augs)} --augs for {len(runs)} --runs: give one augment output per teacher, in the same order")
    rows = [(a / "rows.jsonl.gz").read_bytes() for a in augs]
    if len({gzip.decompress(r) for r in rows}) != 1:
        raise SystemExit("the transfer rows differ between --augs: run augment with the same --seed and --rows")
    summaries = [json.loads((a / "augment.json").read_text()) for a in augs]
    for aug, summary, run in zip(augs, summaries, runs, strict=True):
        if Path(str(summary.get("teacher"))).resolve() != run.resolve():
            raise SystemExit(f"{aug} was scored by {summary.get('teacher')}, not by {run}")
    teachers_sha = _sha_of(runs[0])
    if {s.get("train_sha256") for s in summaries} != {teachers_sha}:
        raise SystemExit("the transfer rows were made from another training file than the teachers'")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(augs[0] / "rows.jsonl.gz", out / "rows.jsonl.gz")
    logits = mean_logits([np.load(a / "logits.npy") for a in augs])
    np.save(out / "logits.npy", logits)
    pred = logits.argmax(1)
    summary = {**summaries[0], "teacher": [str(a) for a in augs],
               "teacher_argmax": {c: int((pred == i).sum()) for i, c in enumerate(LABELS)}}
    (out / "augment.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, nargs="+", required=True, help="teacher runs (train --save-logits)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--augs", type=Path, nargs="*", default=[], help="augment outputs, one per teacher")
    ap.add_argument("--aug-out", type=Path, default=None)
    args = ap.parse_args(argv)
    if bool(args.augs) != (args.aug_out is not None):
        ap.error("--augs and --aug-out go together")
    print(json.dumps(average_teachers(args.runs, args.out)))
    if args.augs:
        summary = average_augments(args.augs, args.aug_out, args.runs)
        print(json.dumps({"rows": summary["rows"], "teacher_argmax": summary["teacher_argmax"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
