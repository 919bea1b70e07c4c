"""Idle cost of the running app: near-zero CPU when nothing happens (no busy polling on Linux)
and resident memory after warm-up. The numbers are printed for the README."""

from __future__ import annotations

import os
import threading
import time

import pytest

from tests.e2e.conftest import model_present
from tests.e2e.test_tray_app import RULE_TEXT, copy_and_expect, ready

WINDOW_S = float(os.environ.get("RAXE_IDLE_WINDOW_S", "5"))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.parametrize("model", ["rules-only", "tiny-onnx", "shipped-model"])
def test_idle_cpu_and_rss_after_warm_up(tray_display, launch, tmp_path, model):
    extra: tuple[str, ...] = ()
    if model == "rules-only":  # an empty model dir: the detector runs on rules alone
        (tmp_path / "no-model").mkdir()
        extra = ("--model-dir", str(tmp_path / "no-model"))
    elif model == "tiny-onnx":  # loads onnxruntime and a session: the runtime's share of RSS
        from tests.fixtures.tiny_model import build_tiny_model

        extra = ("--model-dir", str(build_tiny_model(tmp_path / "tiny")))
    elif not model_present():
        pytest.skip("models/l2_classifier.onnx is not in this checkout")
    app = launch(tray_display, *extra)
    ready(app)
    copy_and_expect(tray_display, launch, app, RULE_TEXT, "command_injection")
    pid = app.proc.pid
    before, t0 = cpu_seconds(pid), time.monotonic()
    threading.Event().wait(WINDOW_S)  # the measurement window itself, not a wait for an event
    used, elapsed = cpu_seconds(pid) - before, time.monotonic() - t0
    cpu_pct, rss = 100 * used / elapsed, rss_mb(pid)
    print(f"\n[{model}] idle CPU {cpu_pct:.2f}% of one core over {elapsed:.1f}s; RSS {rss:.0f} MB")
    assert cpu_pct < 2.0
    assert rss < 400
