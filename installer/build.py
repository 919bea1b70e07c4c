"""Build RAXE Desktop's installer for the OS this runs on.

    python installer/build.py            # or: make installer

Linux:   dist/raxe-desktop/ (bundle), dist/raxe-desktop_<v>_<arch>.deb, dist/raxe-desktop-<v>-linux-<arch>.tar.gz
macOS:   dist/RAXE Desktop.app, dist/RAXE-Desktop-<v>.dmg (installer/macos/make_dmg.sh)
Windows: dist/raxe-desktop/ (bundle), dist/RAXE-Desktop-<v>-setup.exe (Inno Setup's ISCC)

A requested format that cannot be built here (``setup`` without Inno Setup, ``dmg`` off
macOS) fails the build with exit status 3, before PyInstaller runs; ``--formats ""``
builds the bundle only.

Steps: check the inputs (model files, icons), render icons, run PyInstaller on
installer/raxe-desktop.spec, strip symbol tables (Linux), package, and write
dist/build-report.json with sizes and timings. Needs the ``installer`` extra (``pip install -e ".[installer]"``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import buildinfo  # noqa: E402
import icons  # noqa: E402

#: The files the frozen app must carry (desktop.detection.paths names them too).
MODEL_FILES = ("l2_classifier.onnx", "tokenizer.json", "manifest.json")


def check_inputs(root: Path, *, allow_missing_model: bool) -> list[str]:
    """Problems that would make a broken bundle; empty when the build can go ahead."""
    problems = []
    try:
        import PyInstaller  # noqa: F401
    except ModuleNotFoundError:
        problems.append('PyInstaller is not installed: pip install -e ".[installer]"')
    missing = [name for name in MODEL_FILES if not (root / "models" / name).is_file()]
    if missing and not allow_missing_model:
        problems.append(
            "model files missing from models/: " + ", ".join(missing)
            + " (use --allow-missing-model for a rules-only development build)"
        )
    icon_src = root / "resources" / "icons" / f"{icons.ICON_NAME}.svg"
    if not icon_src.is_file():
        problems.append(f"application icon missing: {icon_src.relative_to(root)}")
    return problems


def run_pyinstaller(dist: Path, work: Path, icon_dir: Path) -> None:
    env = dict(os.environ, RAXE_ICON_DIR=str(icon_dir))
    cmd = [
        sys.executable, "-m", "PyInstaller",
        "--noconfirm",
        "--log-level", "WARN",
        "--distpath", str(dist),
        "--workpath", str(work / "pyinstaller"),
        str(HERE / "raxe-desktop.spec"),
    ]
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


#: Files whose symbol tables build.py strips on Linux (patterns under _internal/).
#: Only files no tool has rewritten: auditwheel/patchelf-edited wheel libraries (numpy,
#: numpy.libs) can break under strip, and Qt's are shipped stripped already.
STRIP_PATTERNS = (
    "libpython3*.so*",  # a locally built CPython (pyenv) carries ~17 MB of DWARF
    "python3*/lib-dynload/*.so",
    "tokenizers/*.so",  # Rust extension modules with their symbol tables
    "cryptography/hazmat/bindings/*.so",
)


def strip_binaries(bundle: Path) -> int:
    """``strip --strip-unneeded`` the files in :data:`STRIP_PATTERNS`; returns bytes saved."""
    strip = shutil.which("strip")
    if strip is None:
        return 0
    internal = bundle / "_internal"
    targets = sorted({p for pattern in STRIP_PATTERNS for p in internal.glob(pattern) if not p.is_symlink()})
    before = sum(p.stat().st_size for p in targets)
    for path in targets:
        subprocess.run([strip, "--strip-unneeded", str(path)], check=True)
    return before - sum(p.stat().st_size for p in targets)


def tree_size(root: Path) -> int:
    total = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def package_linux(dist: Path, work: Path, icon_dir: Path, version: str, formats: set[str], report: dict) -> None:
    import package_linux

    bundle = dist / buildinfo.APP_NAME
    if "deb" in formats:
        start = time.monotonic()
        root = package_linux.stage_deb_root(bundle, icon_dir, version, work / "deb-root")
        deb = package_linux.build_deb(root, dist, version)
        report["deb"] = {
            "path": str(deb),
            "bytes": deb.stat().st_size,
            "installed_bytes": tree_size(root) - tree_size(root / "DEBIAN"),
            "seconds": round(time.monotonic() - start, 1),
        }
        shutil.rmtree(root)
    if "tar" in formats:
        start = time.monotonic()
        tarball = package_linux.build_tarball(bundle, icon_dir, dist, version)
        report["tar"] = {
            "path": str(tarball),
            "bytes": tarball.stat().st_size,
            "seconds": round(time.monotonic() - start, 1),
        }


def package_macos(dist: Path, version: str, formats: set[str], report: dict) -> None:
    app = dist / f"{buildinfo.DISPLAY_NAME}.app"
    report["app"] = {"path": str(app), "bytes": tree_size(app)}
    if "dmg" in formats:
        dmg = dist / f"{buildinfo.DISPLAY_NAME.replace(' ', '-')}-{version}.dmg"
        subprocess.run(["bash", str(HERE / "macos" / "make_dmg.sh"), str(app), str(dmg)], check=True)
        report["dmg"] = {"path": str(dmg), "bytes": dmg.stat().st_size}


def find_iscc() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base:
            candidate = Path(base) / "Inno Setup 6" / "ISCC.exe"
            if candidate.is_file():
                return str(candidate)
    return None


class FormatUnavailable(RuntimeError):
    """A format asked for with --formats (or by default) cannot be built on this machine."""


def package_windows(dist: Path, icon_dir: Path, version: str, formats: set[str], report: dict) -> None:
    if "setup" not in formats:
        return
    iscc = find_iscc()
    if iscc is None:
        raise FormatUnavailable(
            "Inno Setup (ISCC.exe) not found, so the requested 'setup' format cannot be built "
            f"(the bundle is in {dist / buildinfo.APP_NAME}). Install Inno Setup 6 "
            "(choco install innosetup) and rerun with --skip-freeze, or pass --formats \"\" "
            "for the bundle only."
        )
    subprocess.run(
        [
            iscc, "/Qp",
            f"/DAppVersion={version}",
            "/DNumericVersion=" + ".".join(str(n) for n in buildinfo.version_tuple(version)),
            f"/DSourceDir={dist / buildinfo.APP_NAME}",
            f"/DOutputDir={dist}",
            f"/DIconFile={icon_dir / (icons.ICON_NAME + '.ico')}",
            str(HERE / "windows" / "raxe-desktop.iss"),
        ],
        check=True,
    )
    setup = dist / f"{buildinfo.DISPLAY_NAME.replace(' ', '-')}-{version}-setup.exe"
    report["setup"] = {"path": str(setup), "bytes": setup.stat().st_size}


DEFAULT_FORMATS = {"linux": "deb,tar", "darwin": "dmg", "win32": "setup"}


def format_problems(os_key: str, formats: set[str]) -> list[str]:
    """Why a requested format cannot be built here; empty when all can (checked before freezing)."""
    known = set(DEFAULT_FORMATS.get(os_key, "").split(",")) - {""}
    problems = [
        f"format {name!r} cannot be built on {os_key} (this OS builds: {', '.join(sorted(known)) or 'the bundle only'})"
        for name in sorted(formats - known)
    ]
    if os_key == "win32" and "setup" in formats and find_iscc() is None:
        problems.append(
            "format 'setup' needs Inno Setup 6 (ISCC.exe), which is not installed: "
            'choco install innosetup, or pass --formats "" for the bundle only'
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    os_key = "linux" if sys.platform.startswith("linux") else sys.platform
    parser = argparse.ArgumentParser(description="Build the RAXE Desktop installer for this OS.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "installer",
                        help="scratch folder, kept between builds for PyInstaller's cache")
    parser.add_argument("--formats", default=DEFAULT_FORMATS.get(os_key, ""),
                        help="comma-separated: deb,tar (Linux), dmg (macOS), setup (Windows); "
                             "empty: the bundle only")
    parser.add_argument("--skip-freeze", action="store_true",
                        help="reuse the bundle already in --dist (repackage only)")
    parser.add_argument("--allow-missing-model", action="store_true",
                        help="build without models/ (the app runs rules-only); development only")
    args = parser.parse_args(argv)
    formats = {f.strip() for f in args.formats.split(",") if f.strip()}

    problems = check_inputs(ROOT, allow_missing_model=args.allow_missing_model)
    if problems:
        for problem in problems:
            print(f"build.py: {problem}", file=sys.stderr)
        return 2
    problems = format_problems(os_key, formats)
    if problems:
        for problem in problems:
            print(f"build.py: {problem}", file=sys.stderr)
        return 3

    dist, work = args.dist.resolve(), args.work.resolve()
    version = buildinfo.project_version(ROOT)
    report: dict = {"version": version, "platform": sys.platform, "python": sys.version.split()[0]}
    started = time.monotonic()

    icon_dir = icons.build_icons(ROOT / "resources" / "icons", work / "icons")
    if not args.skip_freeze:
        start = time.monotonic()
        run_pyinstaller(dist, work, icon_dir)
        if os_key == "linux":
            report["stripped_bytes"] = strip_binaries(dist / buildinfo.APP_NAME)
        report["pyinstaller_seconds"] = round(time.monotonic() - start, 1)

    try:
        if os_key == "darwin":
            package_macos(dist, version, formats, report)
        else:
            bundle = dist / buildinfo.APP_NAME
            report["bundle"] = {"path": str(bundle), "bytes": tree_size(bundle)}
            if os_key == "linux":
                package_linux(dist, work, icon_dir, version, formats, report)
            elif os_key == "win32":
                package_windows(dist, icon_dir, version, formats, report)
    except FormatUnavailable as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 3
    report["total_seconds"] = round(time.monotonic() - started, 1)

    (dist / "build-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
