"""Carry a teacher's training-set logits over to a newer build of the training file.

    python -m models.training.teacher_map --teacher-logits OLD_RUN/train_logits.npy \\
        --teacher-data OLD_DATA --data NEW_DATA --out DIR

A teacher's ``train_logits.npy`` is aligned with the training file it was trained on. After a
data change the student can still distil from it wherever the new training file holds the same
text with the same label: those rows get the teacher's logits, every other row (new, changed or
relabelled) gets NaN, which ``train.py --teacher-logits`` reads as "hard labels only".
``DIR/train_logits.npy`` is written with ``DIR/train_config.json`` naming the new file's sha256,
so that ``train.py`` accepts it for that file and no other, and ``DIR/teacher_map.json`` saying
how many rows were carried over.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from models.training.common import LABELS, read_rows, train_file_sha256


def map_logits(teacher: np.ndarray, old_rows: list[dict], new_rows: list[dict]) -> np.ndarray:
    """Logits for ``new_rows``: the teacher's where (text, label) was in ``old_rows``, else NaN."""
    if teacher.shape != (len(old_rows), len(LABELS)):
        raise ValueError(f"teacher logits have shape {teacher.shape}, the old training file {len(old_rows)} rows")
    index: dict[tuple[str, str], int] = {}
    for i, r in enumerate(old_rows):
        index.setdefault((r["text"], r["label"]), i)
    out = np.full((len(new_rows), len(LABELS)), np.nan, dtype=np.float32)
    for j, r in enumerate(new_rows):
        i = index.get((r["text"], r["label"]))
        if i is not None:
            out[j] = teacher[i]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher-logits", type=Path, required=True, help="train_logits.npy (or .npz with 'logits') of the teacher")
    ap.add_argument("--teacher-data", type=Path, required=True, help="the data directory the teacher was trained on")
    ap.add_argument("--data", type=Path, required=True, help="the new data directory")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    loaded = np.load(args.teacher_logits)
    teacher = (loaded["logits"] if isinstance(loaded, np.lib.npyio.NpzFile) else loaded).astype(np.float32)
    old_rows = read_rows(args.teacher_data / "train.jsonl.gz")
    new_rows = read_rows(args.data / "train.jsonl.gz")
    mapped = map_logits(teacher, old_rows, new_rows)
    known = int(np.isfinite(mapped).all(axis=1).sum())

    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "train_logits.npy", mapped)
    (args.out / "train_config.json").write_text(
        json.dumps({"train_sha256": train_file_sha256(args.data), "mapped_from": str(args.teacher_logits)}, indent=1))
    report = {"teacher_logits": str(args.teacher_logits), "teacher_data": str(args.teacher_data), "data": str(args.data),
              "rows": len(new_rows), "carried_over": known, "hard_labels_only": len(new_rows) - known}
    (args.out / "teacher_map.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
