"""The per-OS installer files, the CI workflow and the smoke checker (fast; no PyInstaller).

macOS and Windows tools (codesign, hdiutil, ISCC) do not run here: these tests check the
files they read are well-formed and agree with the app (ids, names, registry values).
"""

from __future__ import annotations

import ast
import json
import plistlib
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import buildinfo
import icons
import pytest
import smoke

from .conftest import INSTALLER_DIR, REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "installers.yml"
ISS = INSTALLER_DIR / "windows" / "raxe-desktop.iss"


# --- icons ---------------------------------------------------------------------------


def png(size: int) -> bytes:
    ihdr = struct.pack(">II", size, size) + b"\x08\x06\x00\x00\x00"
    return icons.PNG_MAGIC + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0\0\0\0"


def test_ico_directory_points_at_each_png() -> None:
    pngs = {16: png(16), 256: png(256)}
    data = icons.ico_bytes(pngs)
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, 2)
    for i, size in enumerate(sorted(pngs)):
        w, h, _c, _r, _planes, _bpp, length, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i : 22 + 16 * i])
        assert (w, h) == ((0, 0) if size == 256 else (size, size))
        assert data[offset : offset + length] == pngs[size]


def test_icns_lists_png_elements() -> None:
    data = icons.icns_bytes({16: png(16), 32: png(32), 1024: png(1024)})
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    kinds, pos = [], 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        assert data[pos + 8 : pos + 16] == icons.PNG_MAGIC
        kinds.append(kind)
        pos += length
    assert kinds == [b"icp4", b"icp5", b"ic10", b"ic11"]


def test_build_icons_from_resources(tmp_path: Path) -> None:
    # A subprocess: rendering missing sizes creates a QGuiApplication, which must not
    # become the QApplication instance the GUI tests expect.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import icons; from pathlib import Path; "
        "icons.build_icons(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-c", code, str(INSTALLER_DIR), str(REPO_ROOT / "resources" / "icons"), str(tmp_path / "out")],
        check=True,
        env=env,
        timeout=120,
    )
    out = tmp_path / "out"
    for size in icons.HICOLOR_SIZES:
        data = (out / "hicolor" / f"{size}x{size}" / "apps" / "raxe-desktop.png").read_bytes()
        assert icons.png_size(data) == (size, size)
    assert (out / "hicolor" / "scalable" / "apps" / "raxe-desktop.svg").is_file()
    ico = (out / "raxe-desktop.ico").read_bytes()
    assert struct.unpack("<HHH", ico[:6])[2] == len(icons.ICO_SIZES)
    assert (out / "raxe-desktop.icns").read_bytes()[:4] == b"icns"


# --- version, Windows version resource ----------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1.0", (0, 1, 0, 0)), ("1.2", (1, 2, 0, 0)), ("2.0.1rc1", (2, 0, 1, 0)), ("3.1.4+local", (3, 1, 4, 0))],
)
def test_version_tuple(version: str, expected: tuple[int, ...]) -> None:
    assert buildinfo.version_tuple(version) == expected


def test_windows_version_resource_renders_and_evaluates(tmp_path: Path) -> None:
    path = buildinfo.render_windows_version_file(
        INSTALLER_DIR / "windows" / "file_version_info.txt", tmp_path / "v.txt", "1.2.3"
    )
    text = Path(path).read_text(encoding="utf-8")
    assert "@" not in text.replace("# UTF-8", "")

    # Evaluate it the way PyInstaller does, with recording stand-ins for its classes.
    def record(kind):
        return lambda *args, **kwargs: (kind, args, kwargs)

    names = ["VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct", "VarFileInfo", "VarStruct"]
    info = eval(text, {name: record(name) for name in names})  # noqa: S307 - our own template
    assert info[0] == "VSVersionInfo"
    ffi = info[2]["ffi"]
    assert ffi[2]["filevers"] == (1, 2, 3, 0) and ffi[2]["prodvers"] == (1, 2, 3, 0)
    strings = dict(s[1] for s in info[2]["kids"][0][1][0][0][1][1])
    assert strings["ProductName"] == buildinfo.DISPLAY_NAME
    assert strings["OriginalFilename"] == "raxe-desktop.exe"
    assert strings["ProductVersion"] == "1.2.3"


# --- macOS ----------------------------------------------------------------------------


def test_bundle_id_matches_the_launch_agent_label() -> None:
    from desktop.platform import macos

    assert macos.AGENT_LABEL == buildinfo.BUNDLE_ID


def test_info_plist_is_menu_bar_only_with_usage_strings() -> None:
    info = buildinfo.macos_info_plist(INSTALLER_DIR / "macos" / "Info.plist", "1.2.3")
    assert info["LSUIElement"] is True
    assert info["CFBundleIdentifier"] == buildinfo.BUNDLE_ID
    assert info["CFBundleExecutable"] == "raxe-desktop"
    assert info["CFBundleShortVersionString"] == "1.2.3"
    assert info["CFBundleVersion"] == "1.2.3"
    assert "hotkey" in info["NSAppleEventsUsageDescription"]
    assert "Accessibility" in info["RAXEAccessibilityExplanation"]


def test_entitlements_allow_what_a_frozen_python_needs_and_nothing_more() -> None:
    with (INSTALLER_DIR / "macos" / "entitlements.plist").open("rb") as fp:
        ent = plistlib.load(fp)
    assert ent == {
        "com.apple.security.cs.allow-unsigned-executable-memory": True,
        "com.apple.security.cs.disable-library-validation": True,
        "com.apple.security.automation.apple-events": True,
    }


def test_make_dmg_script_is_valid_bash() -> None:
    script = INSTALLER_DIR / "macos" / "make_dmg.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(script)], check=True)
    # Off macOS it refuses clearly instead of half-working.
    proc = subprocess.run(["bash", str(script), "a.app", "b.dmg"], capture_output=True, text=True)
    if sys.platform != "darwin":
        assert proc.returncode == 2 and "needs macOS" in proc.stderr


# --- Windows ----------------------------------------------------------------------------


def iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        match = re.fullmatch(r"\[(\w+)\]", line)
        if match:
            current = match.group(1)
            sections.setdefault(current, [])
        else:
            sections.setdefault(current, []).append(line)
    return sections


def test_inno_setup_installs_per_user_with_start_menu_and_login_task() -> None:
    s = iss_sections()
    setup = dict(line.split("=", 1) for line in s["Setup"])
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"].startswith("{localappdata}\\Programs\\")
    assert setup["OutputBaseFilename"] == "RAXE-Desktop-{#AppVersion}-setup"
    assert any("startatlogin" in line for line in s["Tasks"])
    assert any(line.startswith('Name: "{autoprograms}') and "AppUserModelID" in line for line in s["Icons"])
    run = [line for line in s["Registry"] if "startatlogin" in line]
    assert run and "Root: HKCU" in run[0] and "uninsdeletevalue" in run[0]
    assert "CurUninstallStepChanged" in "\n".join(s["Code"])


def test_inno_setup_agrees_with_the_app() -> None:
    from desktop.platform import windows as win

    text = ISS.read_text(encoding="utf-8")
    defines = dict(re.findall(r'^#define (\w+) "([^"]*)"', text, re.MULTILINE))
    assert defines["RunKey"] == win.RUN_KEY
    assert defines["RunValue"] == win.VALUE_NAME
    assert defines["AppUserModelID"] == win.APP_USER_MODEL_ID
    assert defines["AppExe"] == f"{buildinfo.APP_NAME}.exe"
    from desktop.platform import keystore

    assert defines["CredentialTarget"] == keystore.SERVICE


# --- spec, Makefile, CI ----------------------------------------------------------------------


def test_spec_is_valid_python() -> None:
    ast.parse((INSTALLER_DIR / "raxe-desktop.spec").read_text(encoding="utf-8"))


def test_spec_bundles_models_and_resources_one_dir_windowed() -> None:
    spec = (INSTALLER_DIR / "raxe-desktop.spec").read_text(encoding="utf-8")
    assert "exclude_binaries=True" in spec and "COLLECT(" in spec  # one-dir
    assert "console=False" in spec
    assert '"models"' in spec and '"resources"' in spec
    assert "bundle_filter.hidden_imports(sys.platform)" in spec


def test_makefile_installer_target_runs_build_py() -> None:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^installer:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "no installer target"
    assert "installer/build.py" in recipe.group(1)


def test_ci_smoke_script_is_valid_bash() -> None:
    script = REPO_ROOT / ".ci" / "installer-smoke.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(script)], check=True)


def load_workflow() -> dict:
    yaml = pytest.importorskip("yaml", reason="needs PyYAML")
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_workflow_builds_and_smoke_tests_on_three_oses() -> None:
    wf = load_workflow()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    job = wf["jobs"]["installer"]
    oses = [entry["os"] for entry in job["strategy"]["matrix"]["include"]]
    assert [o.split("-")[0] for o in oses] == ["ubuntu", "macos", "windows"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "python installer/build.py" in runs
    assert ".ci/installer-smoke.sh" in runs
    assert runs.count("installer/smoke.py") == 2  # macOS and Windows
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), step


def test_workflow_matches_the_github_actions_schema() -> None:
    pytest.importorskip("check_jsonschema", reason="needs check-jsonschema (pip)")
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="needs shellcheck")
def test_workflow_bash_steps_pass_shellcheck() -> None:
    job = load_workflow()["jobs"]["installer"]
    for step in job["steps"]:
        if "run" in step and step.get("shell") != "pwsh" and "Windows" not in step["name"]:
            proc = subprocess.run(
                ["shellcheck", "-s", "bash", "-"], input=step["run"], capture_output=True, text=True
            )
            assert proc.returncode == 0, f"{step['name']}: {proc.stdout}"


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="needs actionlint")
def test_workflow_passes_actionlint() -> None:
    proc = subprocess.run(["actionlint", str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the smoke checker ----------------------------------------------------------------


PASSED = json.dumps({"checks": [{"expected": "benign", "got": "benign", "mode": "model"}], "smoke_test": "passed"})


def test_smoke_check_passes_a_clean_run() -> None:
    assert smoke.check(0, PASSED + "\n", "").ok


@pytest.mark.parametrize(
    ("rc", "stdout", "stderr", "problem"),
    [
        (4, PASSED, "", "exit status 4"),
        (0, "", "", "no JSON smoke report"),
        (0, PASSED.replace("passed", "failed"), "", "smoke report says 'failed'"),
        (0, PASSED, "qt.qpa.plugin: Could not load the Qt platform plugin\n", "unexpected stderr"),
        (0, json.dumps({"checks": [{"skipped": "no model"}], "smoke_test": "passed"}), "", "model checks skipped"),
    ],
)
def test_smoke_check_fails(rc: int, stdout: str, stderr: str, problem: str) -> None:
    result = smoke.check(rc, stdout, stderr)
    assert not result.ok
    assert any(problem in p for p in result.problems), result.problems


def test_smoke_check_can_accept_a_rules_only_bundle() -> None:
    stdout = json.dumps({"checks": [{"skipped": "no model"}], "smoke_test": "passed"})
    notice = "RAXE model not loaded, running on rules only: model directory not found: /x\n"
    assert smoke.check(0, stdout, notice, require_model=False).ok
    assert not smoke.check(0, stdout, notice + "Traceback (most recent call last):\n", require_model=False).ok


def test_smoke_env_isolates_the_app(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin", "DISPLAY": ":0", "PYTHONPATH": "/repo", "RAXE_MODEL_DIR": "/m", "HOME": "/root"}
    env = smoke.smoke_env(tmp_path, base)
    assert env["QT_QPA_PLATFORM"] == "offscreen"
    assert env["HOME"].startswith(str(tmp_path))
    for name in ("DISPLAY", "PYTHONPATH", "RAXE_MODEL_DIR"):
        assert name not in env
    assert env["PATH"] == "/usr/bin"


# --- build.py ----------------------------------------------------------------------------


def load_build_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("raxe_installer_build", INSTALLER_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_refuses_a_bundle_without_the_model(tmp_path: Path) -> None:
    build = load_build_script()
    (tmp_path / "models").mkdir()
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    (tmp_path / "resources" / "icons" / "raxe-desktop.svg").write_text("<svg/>")
    problems = build.check_inputs(tmp_path, allow_missing_model=False)
    assert any("l2_classifier.onnx" in p and "--allow-missing-model" in p for p in problems)
    assert not any("model" in p for p in build.check_inputs(tmp_path, allow_missing_model=True))


def test_build_names_the_missing_icon(tmp_path: Path) -> None:
    build = load_build_script()
    problems = build.check_inputs(tmp_path, allow_missing_model=True)
    assert any("raxe-desktop.svg" in p for p in problems)


def test_build_strips_only_files_no_tool_has_rewritten() -> None:
    build = load_build_script()
    assert not any("numpy" in pattern for pattern in build.STRIP_PATTERNS)
    assert not any("PySide6" in pattern for pattern in build.STRIP_PATTERNS)
