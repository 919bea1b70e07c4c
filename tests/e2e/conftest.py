"""End-to-end harness: a private Xvfb (free display picked by Xvfb itself), optionally a
system tray host (trayer), and the real app in a subprocess with a throw-away profile and
``--log-json``. Tests wait for JSON log lines with a deadline, never for fixed sleeps.
"""

from __future__ import annotations

import json
import os
import queue
import select
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "l2_classifier.onnx"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (run: bash .ci/install-system-deps.sh)")


class Display:
    def __init__(self, with_tray: bool):
        _need("Xvfb")
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=(w,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(w)
        number = b""
        deadline = time.monotonic() + 15
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                self.close()
                raise RuntimeError("Xvfb did not report a display number")
            chunk = os.read(r, 16)
            if not chunk:
                self.close()
                raise RuntimeError("Xvfb exited before reporting a display number")
            number += chunk
        os.close(r)
        self.name = ":" + number.decode().strip()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XAUTHORITY")
        }
        env.update(
            DISPLAY=self.name,
            XDG_SESSION_TYPE="x11",
            QT_QPA_PLATFORM="xcb",
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        )
        self.env = env
        self.tray: subprocess.Popen | None = None
        if with_tray:
            _need("trayer")
            self._tray_starts = 0
            self._start_tray()
            try:
                wait_until(self.tray_ready, 20, "trayer did not take the system tray selection")
            except AssertionError as exc:
                code = self.tray.poll()
                self.close()
                raise AssertionError(f"{exc} (trayer exit code: {code})") from None

    def _start_tray(self) -> None:
        self._tray_starts += 1
        self.tray = subprocess.Popen(
            [
                "trayer",
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
                "--height",
                "28",
                "--transparent",
                "false",
                "--tint",
                "0x2b2b2b",
                "--SetDockType",
                "true",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def tray_ready(self) -> bool:
        if self.tray is not None and self.tray.poll() is not None and self._tray_starts < 3:
            self._start_tray()  # trayer exited early (seen once on a loaded machine): retry
            return False
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError

        try:
            d = xdisplay.Display(self.name)
        except (DisplayError, OSError):
            return False
        try:
            owner = d.get_selection_owner(d.intern_atom("_NET_SYSTEM_TRAY_S0"))
            return bool(owner) and owner != 0 and getattr(owner, "id", owner) != 0
        finally:
            d.close()

    def run(self, *args: str, input: bytes | None = None, timeout: float = 10):
        return subprocess.run(
            list(args), env=self.env, input=input, timeout=timeout, capture_output=True, check=True
        )

    def set_selection(self, text: str, selection: str = "clipboard") -> subprocess.Popen:
        """xclip keeps serving the selection until someone else takes it (or we stop it)."""
        _need("xclip")
        p = subprocess.Popen(
            ["xclip", "-quiet", "-selection", selection],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        p.stdin.write(text.encode())
        p.stdin.close()
        return p

    def close(self) -> None:
        for p in (self.tray, self.proc):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()


def wait_until(pred, timeout: float, message: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        # Polling an external process (X server, other programs): a short poll interval, bounded.
        threading.Event().wait(interval)


class AppProcess:
    """The real app (``python -m desktop``, the README run command) with its JSON events read from stderr."""

    def __init__(
        self,
        display: Display,
        config_dir: Path,
        *extra: str,
        command: Sequence[str] = (sys.executable, "-m", "desktop"),
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
    ):
        """``command`` starts the app (the installer tests pass the installed launcher)."""
        self.display = display
        self.config_dir = config_dir
        self.events: list[dict] = []
        self.other: list[str] = []
        self._q: queue.Queue = queue.Queue()
        self.proc = subprocess.Popen(
            [*command, "--config-dir", str(config_dir), "--log-json", "--key-store", "file", *extra],
            env=display.env if env is None else env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, event: str, timeout: float = 30, **match) -> dict:
        """The first event named ``event`` whose fields match, seen before the deadline."""
        for e in self.events:
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items()):
                return e
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._q.get(timeout=max(0.0, left))
            except queue.Empty:
                line = ""
            if line is None or (line == "" and time.monotonic() >= deadline):
                raise AssertionError(
                    f"no {event} {match} event within {timeout}s (exit code {self.proc.poll()});"
                    f"\nevents: {[e.get('event') for e in self.events]}\nother: {self.other[-20:]}"
                )
            if not line:
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                self.other.append(line.rstrip())
                continue
            self.events.append(e)
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items()):
                return e

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


@pytest.fixture(scope="module")
def tray_display():
    d = Display(with_tray=True)
    yield d
    d.close()


@pytest.fixture(scope="module")
def bare_display():
    d = Display(with_tray=False)
    yield d
    d.close()


@pytest.fixture
def launch(tmp_path):
    started: list[AppProcess] = []
    helpers: list[subprocess.Popen] = []

    def _launch(display: Display, *extra: str, config_dir: Path | None = None) -> AppProcess:
        app = AppProcess(display, config_dir or tmp_path / "profile", *extra)
        started.append(app)
        return app

    _launch.helpers = helpers
    yield _launch
    for app in started:
        app.stop()
    for p in helpers:
        if p.poll() is None:
            p.terminate()
            p.wait(5)


def model_present() -> bool:
    return MODEL.exists()
