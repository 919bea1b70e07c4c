"""The per-OS installer files, the CI workflow and the smoke checker (fast; no PyInstaller).

macOS and Windows tools (codesign, hdiutil, ISCC) do not run here: these tests check the
files they read are well-formed and agree with the app (ids, names, registry values).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import plistlib
import re
import shlex
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


def fake_macos_tools(bin_dir: Path, hdiutil_failures: int) -> Path:
    """Stand-ins for uname (says Darwin), ditto, sleep and an hdiutil whose ``create``
    fails ``hdiutil_failures`` times; returns the file that logs hdiutil's calls."""
    bin_dir.mkdir()
    log = bin_dir / "hdiutil.log"
    tools = {
        "uname": "echo Darwin",
        "ditto": 'cp -R "$1" "$2"',
        "sleep": "true",
        "hdiutil": f"""echo "$1" >> {shlex.quote(str(log))}
if [ "$1" = create ]; then
  n=$(grep -c '^create$' {shlex.quote(str(log))})
  [ "$n" -le {hdiutil_failures} ] && {{ echo "hdiutil: create failed - Resource busy" >&2; exit 1; }}
  for last in "$@"; do :; done
  touch "$last"
fi
exit 0""",
    }
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body + "\n")
        path.chmod(0o755)
    return log


@pytest.mark.parametrize(("failures", "rc"), [(0, 0), (2, 0), (3, 1)])
def test_make_dmg_retries_hdiutil_create_three_times(tmp_path: Path, failures: int, rc: int) -> None:
    log = fake_macos_tools(tmp_path / "bin", failures)
    app = tmp_path / "RAXE Desktop.app"
    (app / "Contents" / "MacOS").mkdir(parents=True)
    dmg = tmp_path / "out.dmg"
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["bash", str(INSTALLER_DIR / "macos" / "make_dmg.sh"), str(app), str(dmg)],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == rc, proc.stderr
    calls = log.read_text().split()
    assert calls.count("create") == min(failures + 1, 3)
    if rc == 0:
        assert dmg.exists() and calls[-1] == "verify"
    else:
        assert "failed 3 times" in proc.stderr and "verify" not in calls


def test_installer_files_refer_only_to_documents_that_exist() -> None:
    for path in sorted(INSTALLER_DIR.rglob("*")):
        if not path.is_file() or path.suffix in {".pyc", ".md"} or "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for ref in re.findall(r"[\w./-]+\.md\b", text):
            candidates = (REPO_ROOT / ref, INSTALLER_DIR / ref, path.parent / ref)
            assert any(c.is_file() for c in candidates), f"{path.relative_to(REPO_ROOT)} refers to {ref}"


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


def test_inno_setup_app_mutex_is_the_one_the_app_holds() -> None:
    """The uninstaller sees a running app only through AppMutex (no Restart Manager there)."""
    from desktop.platform import windows as win

    setup = dict(line.split("=", 1) for line in iss_sections()["Setup"])
    assert setup["AppMutex"] == win.RUNNING_MUTEX_NAME
    source = inspect.getsource(importlib.import_module("desktop.app.main").run_app)
    assert "hold_running_mutex()" in source


def test_inno_setup_removes_the_previous_bundle_before_an_upgrade() -> None:
    entries = [line.replace(" ", "") for line in iss_sections().get("InstallDelete", [])]
    assert 'Type:filesandordirs;Name:"{app}\\_internal"' in entries


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


def test_spec_run_by_hand_renders_its_own_icons() -> None:
    """build.py passes RAXE_ICON_DIR; without it the spec must not point at a missing folder."""
    spec = (INSTALLER_DIR / "raxe-desktop.spec").read_text(encoding="utf-8")
    assert "build-icons" not in spec
    assert 'os.environ.get("RAXE_ICON_DIR")' in spec
    assert 'icons.build_icons(ROOT / "resources" / "icons"' in spec


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


def fake_python_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of .ci/installer-smoke.sh in an empty tree, with a python3 and a dpkg-deb
    that log their arguments; ``python3 -m venv .venv`` makes a logging .venv/bin/python."""
    tree, bin_dir = tmp_path / "tree", tmp_path / "bin"
    (tree / ".ci").mkdir(parents=True)
    shutil.copy(REPO_ROOT / ".ci" / "installer-smoke.sh", tree / ".ci")
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    logger = f'echo "$0 $*" >> {shlex.quote(str(log))}\n'
    venv_python = logger + "exit 0\n"
    python3 = logger + (
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; '
        f"printf '%s' {shlex.quote('#!/bin/sh' + chr(10) + venv_python)} > \"$3/bin/python\"; "
        'chmod +x "$3/bin/python"; fi\nexit 0\n'
    )
    for name, body in {"python3": python3, "dpkg-deb": "exit 0\n"}.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    return tree, bin_dir, log


def test_ci_smoke_script_never_pip_installs_into_the_system_python(tmp_path: Path) -> None:
    """Debian 12 (PEP 668) refuses pip into python3: the script makes and uses .venv."""
    tree, bin_dir, log = fake_python_tree(tmp_path)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", ".ci/installer-smoke.sh"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == f"{bin_dir / 'python3'} -m venv .venv"
    rest = [c.split(" ", 1) for c in calls[1:]]
    assert {(tree / exe).resolve() for exe, _ in rest} == {(tree / ".venv" / "bin" / "python").resolve()}
    assert any(args.startswith("-m pip install") for _, args in rest)
    assert rest[-1][1] == "-m pytest -q -m slow tests/installer"
    # A second run reuses the .venv; PYTHON still wins when set.
    log.unlink()
    subprocess.run(["bash", ".ci/installer-smoke.sh"], cwd=tree, env=env, check=True,
                   capture_output=True, timeout=60)
    assert {(tree / c.split(" ", 1)[0]).resolve() for c in log.read_text().splitlines()} == {
        (tree / ".venv" / "bin" / "python").resolve()
    }
    log.unlink()
    subprocess.run(["bash", ".ci/installer-smoke.sh"], cwd=tree, env={**env, "PYTHON": "python3"},
                   check=True, capture_output=True, timeout=60)
    assert all(c.startswith(f"{bin_dir / 'python3'} ") for c in log.read_text().splitlines())


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


GOOD_BACKENDS = {
    "keyring": {"ok": True, "backend": "keyring.backends.Windows.WinVaultKeyring"},
    "pynput": {"ok": True, "backend": "pynput.keyboard._win32"},
}
PASSED = json.dumps(
    {
        "checks": [{"expected": "benign", "got": "benign", "mode": "model"}],
        "backends": GOOD_BACKENDS,
        "smoke_test": "passed",
    }
)


def with_backends(**probes: dict) -> str:
    report = json.loads(PASSED)
    report["backends"] = {**GOOD_BACKENDS, **probes}
    return json.dumps(report)


FAIL_KEYRING = {"ok": True, "backend": "keyring.backends.fail.Keyring"}
NO_PYNPUT = {"ok": False, "error": "ImportError: this platform is not supported"}


@pytest.mark.parametrize("platform", ["win32", "darwin"])
@pytest.mark.parametrize(
    ("stdout", "problem"),
    [
        (with_backends(keyring=FAIL_KEYRING), "keyring resolved to keyring.backends.fail.Keyring"),
        (with_backends(pynput=NO_PYNPUT), "pynput.keyboard did not import"),
        (with_backends(keyring={"ok": False, "error": "ModuleNotFoundError: x"}), "keyring did not load"),
        (json.dumps({"checks": [], "smoke_test": "passed"}), "no back-end probe"),
    ],
)
def test_smoke_check_requires_the_keychain_and_hotkey_backends(platform: str, stdout: str, problem: str) -> None:
    result = smoke.check(0, stdout, "", platform=platform)
    assert any(problem in p for p in result.problems), result.problems


def test_smoke_check_only_reports_linux_backends_that_need_a_session() -> None:
    """No session bus (Secret Service) or X display in the offscreen run on Linux."""
    stdout = with_backends(keyring=FAIL_KEYRING, pynput=NO_PYNPUT)
    assert smoke.check(0, stdout, "", platform="linux").ok
    broken = with_backends(keyring={"ok": False, "error": "ModuleNotFoundError: keyring"})
    assert not smoke.check(0, broken, "", platform="linux").ok


def test_smoke_report_probes_backends_without_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    from desktop.app import main

    class Ring(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            raise AssertionError("the probe must not read")

        def set_password(self, service, username, password):
            raise AssertionError("the probe must not write")

        def delete_password(self, service, username):
            raise AssertionError("the probe must not delete")

    def fresh_pynput(backend: str) -> None:
        monkeypatch.setenv("PYNPUT_BACKEND", backend)
        for name in [m for m in sys.modules if m == "pynput" or m.startswith("pynput.")]:
            monkeypatch.delitem(sys.modules, name)

    monkeypatch.setattr(keyring, "get_keyring", Ring)
    fresh_pynput("dummy")  # pynput's stand-in back end: imports without a display
    probes = main.probe_backends()
    assert probes["keyring"] == {"ok": True, "backend": f"{Ring.__module__}.{Ring.__qualname__}"}
    assert probes["pynput"]["ok"] is True and probes["pynput"]["backend"].startswith("pynput.keyboard._")
    fresh_pynput("no_such_backend")
    probe = main.probe_backends()["pynput"]
    assert probe["ok"] is False and probe["error"].startswith("ImportError") and "\n" not in probe["error"]


def test_smoke_golden_set_checks_an_iban_through_stdnum() -> None:
    """The IBAN rule reads python-stdnum's data files: a bundle without them fails this."""
    from desktop.app import main
    from desktop.app.worker import default_detector_factory

    ibans = [g for g in main.GOLDEN if len(g) == 4 and g[3] == "pii.iban"]
    assert ibans
    detector = default_detector_factory(None)
    for text, expected, _needs_model, rule in ibans:
        result = detector.detect(text)
        assert result.category.label == expected
        assert rule in {e.rule_id for e in result.evidence}


def test_smoke_check_passes_a_clean_run() -> None:
    assert smoke.check(0, PASSED + "\n", "").ok


@pytest.mark.parametrize(
    ("rc", "stdout", "stderr", "problem"),
    [
        (4, PASSED, "", "exit status 4"),
        (0, "", "", "no JSON smoke report"),
        (0, PASSED.replace("passed", "failed"), "", "smoke report says 'failed'"),
        (0, PASSED, "qt.qpa.plugin: Could not load the Qt platform plugin\n", "unexpected stderr"),
        (0, json.dumps({"checks": [{"skipped": "no model"}], "backends": GOOD_BACKENDS, "smoke_test": "passed"}),
         "", "model checks skipped"),
    ],
)
def test_smoke_check_fails(rc: int, stdout: str, stderr: str, problem: str) -> None:
    result = smoke.check(rc, stdout, stderr)
    assert not result.ok
    assert any(problem in p for p in result.problems), result.problems


def test_smoke_check_can_accept_a_rules_only_bundle() -> None:
    stdout = json.dumps({"checks": [{"skipped": "no model"}], "backends": GOOD_BACKENDS, "smoke_test": "passed"})
    notice = "RAXE model not loaded, running on rules only: model directory not found: /x\n"
    assert smoke.check(0, stdout, notice, require_model=False).ok
    assert not smoke.check(0, stdout, notice + "Traceback (most recent call last):\n", require_model=False).ok


def test_smoke_env_isolates_the_app(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin", "DISPLAY": ":0", "PYTHONPATH": "/repo", "RAXE_MODEL_DIR": "/m", "HOME": "/root"}
    env = smoke.smoke_env(tmp_path, base)
    assert env["QT_QPA_PLATFORM"] == "offscreen"
    assert env["HOME"].startswith(str(tmp_path))
    base["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env = smoke.smoke_env(tmp_path, base)
    for name in ("DISPLAY", "PYTHONPATH", "RAXE_MODEL_DIR", "PYTHON_KEYRING_BACKEND"):
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


def test_build_fails_when_a_requested_installer_cannot_be_built(monkeypatch: pytest.MonkeyPatch) -> None:
    build = load_build_script()
    monkeypatch.setattr(build, "find_iscc", lambda: None)
    problems = build.format_problems("win32", {"setup"})
    assert len(problems) == 1 and "Inno Setup" in problems[0] and "ISCC" in problems[0]
    assert build.format_problems("win32", set()) == []  # bundle only: ISCC not needed
    monkeypatch.setattr(build, "find_iscc", lambda: "C:/Inno Setup 6/ISCC.exe")
    assert build.format_problems("win32", {"setup"}) == []
    assert build.format_problems("linux", {"deb", "tar"}) == []
    assert any("'dmg' cannot be built on linux" in p for p in build.format_problems("linux", {"deb", "dmg"}))
    # Had the check been missed, packaging itself refuses rather than skipping quietly.
    monkeypatch.setattr(build, "find_iscc", lambda: None)
    with pytest.raises(build.FormatUnavailable, match="setup"):
        build.package_windows(Path("dist"), Path("icons"), "1.0", {"setup"}, {})
    build.package_windows(Path("dist"), Path("icons"), "1.0", set(), {})  # not requested: fine


def test_build_main_exits_non_zero_before_freezing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    build = load_build_script()
    monkeypatch.setattr(build, "check_inputs", lambda *a, **k: [])

    def no_freeze(*args, **kwargs):
        raise AssertionError("must fail before rendering icons or running PyInstaller")

    monkeypatch.setattr(build.icons, "build_icons", no_freeze)
    monkeypatch.setattr(build, "run_pyinstaller", no_freeze)
    impossible = "dmg" if sys.platform != "darwin" else "setup"
    rc = build.main(["--formats", impossible, "--dist", str(tmp_path / "d"), "--work", str(tmp_path / "w")])
    assert rc == 3
    assert f"format '{impossible}' cannot be built" in capsys.readouterr().err


def test_readme_lists_the_libraries_the_tarball_needs() -> None:
    """The .tar.gz installs nothing: the README's apt line must name every .deb dependency."""
    import package_linux

    readme = (INSTALLER_DIR / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\nsudo apt install (.*?)```", readme, re.DOTALL)
    assert block, "no apt install block in installer/README.md"
    listed = set(block.group(1).replace("\\", " ").split())
    for dep in package_linux.DEB_DEPENDS:
        alternatives = {name.strip() for name in dep.split("|")}
        assert alternatives & listed, dep
