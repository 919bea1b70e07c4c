"""``python -m desktop bench``: latency, throughput, load time and peak memory.

For texts of 16, 64, 128 and 512 tokens, 10 KB and 1 MB it times the model alone
(``OnnxClassifier.predict_windows``) and the full ``detect()`` (normalise, rules,
model, fusion, explanation), after one warm-up run each, and prints p50/p95/p99.
The texts are deterministic benign prose, so runs are comparable.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop import __version__

TOKEN_SIZES = (16, 64, 128, 512)
BYTE_SIZES = (("10KB", 10_000), ("1MB", 1_000_000))

_PROSE = (
    "the team met on thursday to review the quarterly report and agreed that the "
    "new onboarding guide should be shorter clearer and easier to search please send "
    "your comments before friday so we can publish the final version next week the "
    "weather was mild and the project timeline still looks realistic although two "
    "tasks depend on the vendor delivering the updated invoices on time"
)
_WORDS = tuple(_PROSE.split())


@dataclass(frozen=True)
class Row:
    stage: str
    size: str
    chars: int
    tokens: int
    runs: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    texts_per_s: float
    chars_per_s: float
    passes: int = 1
    p95_min_ms: float | None = None
    p95_max_ms: float | None = None


def prose(n_words: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    words = [rng.choice(_WORDS) for _ in range(n_words)]
    sentences = []
    for i in range(0, len(words), 12):
        chunk = words[i : i + 12]
        sentences.append(" ".join(chunk).capitalize() + ".")
    return " ".join(sentences)


def text_of_tokens(n_tokens: int, count: Callable[[str], int] | None) -> str:
    """Prose with ``n_tokens`` tokens (by the model's tokenizer when there is one)."""
    if count is None:
        return prose(max(1, round(n_tokens / 1.25)))
    lo, hi = 1, n_tokens * 2
    while lo < hi:  # the fewest words reaching n_tokens
        mid = (lo + hi) // 2
        if count(prose(mid)) >= n_tokens:
            hi = mid
        else:
            lo = mid + 1
    return prose(lo)


def text_of_chars(n_chars: int) -> str:
    base = prose(max(1, n_chars // 5))
    while len(base) < n_chars:
        base += " " + base
    return base[:n_chars]


#: Untimed calls before each case: the first calls at a new input shape pay for
#: onnxruntime's buffer allocation, which a long-running app pays once.
WARMUP_CALLS = 5


def timed(fn: Callable[[], Any], runs: int, warmup: int = WARMUP_CALLS) -> list[float]:
    for _ in range(max(1, min(warmup, runs))):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def summarise(stage: str, size: str, text: str, tokens: int, times: list[float]) -> Row:
    arr = np.asarray(times)
    mean = float(arr.mean())
    return Row(
        stage=stage,
        size=size,
        chars=len(text),
        tokens=tokens,
        runs=len(times),
        p50_ms=round(float(np.percentile(arr, 50)), 3),
        p95_ms=round(float(np.percentile(arr, 95)), 3),
        p99_ms=round(float(np.percentile(arr, 99)), 3),
        mean_ms=round(mean, 3),
        texts_per_s=round(1000.0 / mean, 1) if mean else 0.0,
        chars_per_s=round(len(text) * 1000.0 / mean) if mean else 0.0,
    )


def peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def merge_passes(rows: list[Row]) -> Row:
    """One row for a case timed in several passes: the median of each percentile
    over the passes, with the lowest and highest p95 (how much the machine wandered)."""
    if len(rows) == 1:
        return rows[0]
    med = lambda xs: round(float(np.median(xs)), 3)  # noqa: E731
    first = rows[0]
    mean = float(np.mean([r.mean_ms for r in rows]))
    return Row(
        stage=first.stage,
        size=first.size,
        chars=first.chars,
        tokens=first.tokens,
        runs=sum(r.runs for r in rows),
        p50_ms=med([r.p50_ms for r in rows]),
        p95_ms=med([r.p95_ms for r in rows]),
        p99_ms=med([r.p99_ms for r in rows]),
        mean_ms=round(mean, 3),
        texts_per_s=round(1000.0 / mean, 1) if mean else 0.0,
        chars_per_s=round(first.chars * 1000.0 / mean) if mean else 0.0,
        passes=len(rows),
        p95_min_ms=min(r.p95_ms for r in rows),
        p95_max_ms=max(r.p95_ms for r in rows),
    )


def run_bench(
    model_dir: Path | None,
    *,
    threads: int,
    runs: int,
    rules_only: bool = False,
    passes: int = 1,
) -> dict[str, Any]:
    from desktop.detection.detector import L2ThreatDetector

    start = time.perf_counter()
    detector = L2ThreatDetector(model_dir, threads=threads, rules_only=rules_only)
    construct_ms = (time.perf_counter() - start) * 1000.0
    clf = detector.classifier
    count = clf.count_tokens if clf is not None else None

    cases: list[tuple[str, str, int]] = []
    for n in TOKEN_SIZES:
        text = text_of_tokens(n, count)
        cases.append((f"{n} tok", text, n))
    for label, n_chars in BYTE_SIZES:
        text = text_of_chars(n_chars)
        cases.append((label, text, count(text) if count is not None else 0))

    timings: dict[tuple[str, str], list[Row]] = {}
    for pass_no in range(max(1, passes)):
        # Passes run one after another over every case, so a slow spell of the
        # machine lands on one pass rather than on one case.
        for size, text, tokens in cases:
            small = len(text) < 100_000
            if pass_no and not small:
                continue
            n = runs if small else max(3, runs // 5)
            warm = WARMUP_CALLS if small else 1
            if clf is not None:
                timings.setdefault(("model", size), []).append(
                    summarise(
                        "model",
                        size,
                        text,
                        tokens,
                        timed(lambda t=text: clf.predict_windows(t), n, warm),
                    )
                )
            timings.setdefault(("detect", size), []).append(
                summarise(
                    "detect", size, text, tokens, timed(lambda t=text: detector.detect(t), n, warm)
                )
            )
    rows = [
        merge_passes(timings[(stage, size)])
        for size, _, _ in cases
        for stage in ("model", "detect")
        if (stage, size) in timings
    ]

    big = detector.detect(cases[-1][1])
    return {
        "version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "mode": detector.mode,
        "mode_reason": detector.mode_reason,
        "model_dir": str(detector.model_dir),
        "model_version": detector.model_version,
        "threads": threads,
        "runs": runs,
        "passes": max(1, passes),
        "model_load_ms": round(detector.load_ms, 1),
        "detector_init_ms": round(construct_ms, 1),
        "max_windows": clf.manifest.max_windows if clf is not None else None,
        "max_length": clf.manifest.max_length if clf is not None else None,
        "one_mb": {"truncated": big.truncated, "scanned_chars": big.scanned_chars},
        "rows": [asdict(r) for r in rows],
        "peak_rss_mb": peak_rss_mb(),
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"RAXE Desktop {report['version']} bench — Python {report['python']}, {report['platform']}",
        f"mode: {report['mode']}"
        + (f" ({report['mode_reason']})" if report["mode_reason"] else "")
        + (f", model {report['model_version']}" if report["model_version"] else "")
        + f", threads {report['threads']}, runs {report['runs']}"
        + (
            f" x {report['passes']} passes (median of the passes; p95 range)"
            if report.get("passes", 1) > 1
            else ""
        ),
        f"model load + warm-up: {report['model_load_ms']:.1f} ms "
        f"(detector init {report['detector_init_ms']:.1f} ms)",
        "",
        f"{'stage':<7} {'size':<8} {'chars':>9} {'tokens':>7} {'runs':>4} "
        f"{'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'texts/s':>9} {'chars/s':>11}"
        + ("  p95 range" if report.get("passes", 1) > 1 else ""),
    ]
    for r in report["rows"]:
        lines.append(
            f"{r['stage']:<7} {r['size']:<8} {r['chars']:>9} {r['tokens']:>7} {r['runs']:>4} "
            f"{r['p50_ms']:>9.2f} {r['p95_ms']:>9.2f} {r['p99_ms']:>9.2f} "
            f"{r['texts_per_s']:>9.1f} {r['chars_per_s']:>11,.0f}"
            + (
                f"  {r['p95_min_ms']:.2f}–{r['p95_max_ms']:.2f}"
                if r.get("p95_min_ms") is not None
                else ""
            )
        )
    one_mb = report["one_mb"]
    lines.append("")
    if one_mb["truncated"]:
        lines.append(
            f"1 MB text: reported as truncated at {one_mb['scanned_chars']:,} characters: the model "
            f"reads at most max_windows={report['max_windows']} windows of "
            f"max_length={report['max_length']} tokens (normalisation and rules read it all)"
        )
    else:
        lines.append("1 MB text: scanned in full")
    rss = report["peak_rss_mb"]
    lines.append(f"peak RSS: {rss:.1f} MB" if rss is not None else "peak RSS: n/a on this OS")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="raxe-desktop bench", description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", type=Path, default=None)
    p.add_argument("--threads", type=int, default=1, help="ONNX intra-op threads (default 1)")
    p.add_argument("--runs", type=int, default=20, help="timed runs per case and pass (default 20)")
    p.add_argument(
        "--passes",
        type=int,
        default=1,
        help="time every small case this many times over; report the median (default 1)",
    )
    p.add_argument("--rules-only", action="store_true")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    try:
        ns = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if ns.threads < 1 or ns.runs < 1 or ns.passes < 1:
        print(
            "raxe-desktop bench: error: --threads, --runs and --passes must be at least 1",
            file=sys.stderr,
        )
        return 2
    report = run_bench(
        ns.model_dir, threads=ns.threads, runs=ns.runs, rules_only=ns.rules_only, passes=ns.passes
    )
    print(json.dumps(report, indent=2) if ns.json else format_report(report))
    return 0
