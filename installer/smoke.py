"""Install-and-run check for a built package: the installed app must pass ``--smoke-test``.

    python installer/smoke.py --deb dist/raxe-desktop_0.1.0_amd64.deb   # Linux: unpack, run launcher
    python installer/smoke.py --exe "dist/RAXE Desktop.app/Contents/MacOS/raxe-desktop"
    python installer/smoke.py --exe "C:/Users/me/AppData/Local/Programs/RAXE Desktop/raxe-desktop.exe"

The .deb is unpacked with ``dpkg-deb -x`` into a fresh temporary prefix (no root, no
system changes) and ``<prefix>/usr/bin/raxe-desktop --smoke-test`` runs there with
``QT_QPA_PLATFORM=offscreen``, a throw-away HOME/XDG dirs, from a neutral working
directory, and without any variable that could point it back at the source tree.
It fails on a non-zero exit, on a report that is not "passed" (or that skipped the
model checks, meaning the model is missing from the bundle), on any stderr line
not matched by :data:`ALLOWED_STDERR`, and on the run-time back ends the smoke test
itself does not use (it runs with the key file and without the hotkey) but the real app
does: on Windows and macOS the keyring back end must be the OS keychain's (not keyring's
"fail" back end) and ``pynput.keyboard`` must import (neither needs a display server
there). On Linux both are only reported: without a session bus keyring has no Secret
Service, and pynput needs an X display, which the offscreen run has not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

APP_NAME = "raxe-desktop"

#: stderr lines that are expected and harmless, as regular expressions (full match).
#: Keep this short: every entry is a message a user could also see.
ALLOWED_STDERR: list[str] = []
#: Expected only from a development bundle built without the model (--allow-rules-only).
RULES_ONLY_STDERR = r"RAXE model not loaded, running on rules only: .*"

#: Variables that would make the frozen app read the source tree or a real session.
_SCRUBBED_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONWARNINGS",
    "RAXE_MODEL_DIR",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "QT_PLUGIN_PATH",
    "QT_QPA_PLATFORM_PLUGIN_PATH",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "PYTHON_KEYRING_BACKEND",
    "PYNPUT_BACKEND",
    "PYNPUT_BACKEND_KEYBOARD",
)

#: Where the keyring and pynput back ends must load in the smoke run (see the module doc).
BACKENDS_REQUIRED_ON = ("win32", "darwin")
#: keyring's stand-in when no keychain back end is usable: every call raises.
KEYRING_FAIL_BACKEND = "keyring.backends.fail."


@dataclass
class SmokeResult:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def unpack_deb(deb: Path, prefix: Path) -> Path:
    """``dpkg-deb -x`` into ``prefix``; returns the unpacked launcher ``<prefix>/usr/bin/raxe-desktop``."""
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(prefix)], check=True)
    launcher = prefix / "usr" / "bin" / APP_NAME
    if not launcher.is_symlink():
        raise RuntimeError(f"{launcher} is not the launcher symlink")
    target = launcher.resolve()
    if prefix.resolve() not in target.parents:
        raise RuntimeError(f"{launcher} points outside the prefix: {target}")
    return launcher


def smoke_env(scratch: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: offscreen Qt, a throw-away home, nothing pointing at the repo."""
    env = dict(os.environ if base is None else base)
    for name in _SCRUBBED_ENV:
        env.pop(name, None)
    home = scratch / "home"
    runtime = scratch / "runtime"
    for path in (home, runtime):
        path.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": str(home),
            "USERPROFILE": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_RUNTIME_DIR": str(runtime),
            "TMPDIR": str(scratch),
        }
    )
    return env


def unexpected_stderr(stderr: str, allowed: list[str] | None = None) -> list[str]:
    patterns = [re.compile(p) for p in (ALLOWED_STDERR if allowed is None else allowed)]
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not any(p.fullmatch(line.strip()) for p in patterns)
    ]


def parse_report(stdout: str) -> dict | None:
    """The app prints one JSON object (its smoke report) on stdout; take the last one."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def backend_problems(report: dict, platform: str) -> list[str]:
    """What is wrong with the report's ``backends`` (keyring, pynput) for ``platform``."""
    backends = report.get("backends")
    if not isinstance(backends, dict):
        return ["no back-end probe (keyring, pynput) in the smoke report"]
    required = platform in BACKENDS_REQUIRED_ON
    problems = []
    ring = backends.get("keyring") or {}
    if not ring.get("ok"):
        # keyring itself failing to import is a broken bundle on every OS.
        problems.append(f"keyring did not load: {ring.get('error', 'not probed')}")
    elif required and str(ring.get("backend", "")).startswith(KEYRING_FAIL_BACKEND):
        problems.append(
            f"keyring resolved to {ring.get('backend')}: the OS keychain back end is not in "
            "the bundle (bundle_filter.hidden_imports, keyring's entry-point metadata)"
        )
    pynput = backends.get("pynput") or {}
    if required and not pynput.get("ok"):
        problems.append(f"pynput.keyboard did not import: {pynput.get('error', 'not probed')}")
    return problems


def check(
    returncode: int,
    stdout: str,
    stderr: str,
    *,
    require_model: bool = True,
    platform: str | None = None,
) -> SmokeResult:
    """Judge one ``--smoke-test`` run. Without ``require_model`` the rules-only notice is allowed.

    ``platform`` (default ``sys.platform``: the app runs where this runs) decides whether
    the keyring and pynput back ends must load.
    """
    report = parse_report(stdout)
    result = SmokeResult(returncode, stdout, stderr, report)
    if returncode != 0:
        result.problems.append(f"exit status {returncode}")
    if report is None:
        result.problems.append("no JSON smoke report on stdout")
    else:
        if report.get("smoke_test") != "passed":
            result.problems.append(f"smoke report says {report.get('smoke_test')!r}")
        skipped = [c for c in report.get("checks", []) if c.get("skipped")]
        if require_model and skipped:
            result.problems.append(f"model checks skipped (model not in the bundle?): {skipped}")
        result.problems.extend(backend_problems(report, platform or sys.platform))
    allowed = ALLOWED_STDERR if require_model else [*ALLOWED_STDERR, RULES_ONLY_STDERR]
    for line in unexpected_stderr(stderr, allowed):
        result.problems.append(f"unexpected stderr: {line}")
    return result


def run_smoke(launcher: Path, scratch: Path, *, timeout: float = 180, require_model: bool = True) -> SmokeResult:
    env = smoke_env(scratch)
    workdir = scratch / "cwd"
    workdir.mkdir(exist_ok=True)
    proc = subprocess.run(
        [str(launcher), "--smoke-test"],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return check(proc.returncode, proc.stdout, proc.stderr, require_model=require_model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--deb", type=Path, help="unpack this .deb into a temporary prefix and run it")
    target.add_argument("--exe", type=Path, help="run this installed/bundled executable")
    parser.add_argument("--allow-rules-only", action="store_true",
                        help="accept a bundle without the model (development only)")
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="raxe-smoke-") as tmp:
        scratch = Path(tmp)
        launcher = unpack_deb(args.deb, scratch / "prefix") if args.deb else args.exe
        result = run_smoke(launcher, scratch / "run", timeout=args.timeout,
                           require_model=not args.allow_rules_only)
    print(f"launcher: {launcher}")
    print(f"exit status: {result.returncode}")
    if result.report is not None:
        print("report: " + json.dumps(result.report))
        for name, probe in (result.report.get("backends") or {}).items():
            print(f"{name}: {probe.get('backend') or 'FAILED: ' + str(probe.get('error'))}")
    if result.stderr.strip():
        print("stderr:\n" + result.stderr.rstrip())
    if result.ok:
        print("smoke test: passed")
        return 0
    print("smoke test: FAILED")
    for problem in result.problems:
        print(f"  - {problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
