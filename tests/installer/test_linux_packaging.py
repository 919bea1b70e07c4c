"""The .deb and .tar.gz layout, built from a stand-in bundle (fast; no PyInstaller).

The real bundle goes through the same functions in test_linux_package_e2e.py (slow).
"""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import buildinfo
import package_linux
import pytest

from .conftest import INSTALLER_DIR, REPO_ROOT

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb")


def fake_bundle(root: Path) -> Path:
    bundle = root / "raxe-desktop"
    (bundle / "_internal" / "models").mkdir(parents=True)
    exe = bundle / "raxe-desktop"
    shutil.copyfile("/bin/true", exe)  # a real ELF, so the glibc floor is read from it
    exe.chmod(0o700)
    (bundle / "_internal" / "models" / "manifest.json").write_text("{}")
    return bundle


def fake_icons(root: Path) -> Path:
    icons = root / "icons"
    for size in (16, 48, 256):
        path = icons / "hicolor" / f"{size}x{size}" / "apps" / "raxe-desktop.png"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"png")
    scalable = icons / "hicolor" / "scalable" / "apps" / "raxe-desktop.svg"
    scalable.parent.mkdir(parents=True)
    scalable.write_text("<svg/>")
    return icons


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    return package_linux.stage_deb_root(
        fake_bundle(tmp_path), fake_icons(tmp_path), "1.2.3", tmp_path / "root", arch="amd64"
    )


def test_desktop_entry_launches_the_app_by_name() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(INSTALLER_DIR / "linux" / "raxe-desktop.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "raxe-desktop"
    assert entry["Icon"] == "raxe-desktop"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="needs desktop-file-utils")
def test_desktop_entry_validates() -> None:
    proc = subprocess.run(
        ["desktop-file-validate", str(INSTALLER_DIR / "linux" / "raxe-desktop.desktop")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout


def test_deb_tree_layout(staged: Path) -> None:
    launcher = staged / "usr" / "bin" / "raxe-desktop"
    assert launcher.is_symlink()
    assert os.readlink(launcher) == "../../opt/raxe-desktop/raxe-desktop"  # relative: works in any prefix
    assert launcher.resolve() == (staged / "opt" / "raxe-desktop" / "raxe-desktop").resolve()
    assert (staged / "usr/share/applications/raxe-desktop.desktop").is_file()
    assert (staged / "usr/share/icons/hicolor/48x48/apps/raxe-desktop.png").is_file()
    assert (staged / "usr/share/icons/hicolor/scalable/apps/raxe-desktop.svg").is_file()
    assert (staged / "usr/share/doc/raxe-desktop/copyright").is_file()
    assert (staged / "opt/raxe-desktop/_internal/models/manifest.json").is_file()


def test_deb_tree_modes(staged: Path) -> None:
    for dirpath, _dirs, files in os.walk(staged):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o755, dirpath
        for name in files:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            if path.parent.name == "DEBIAN":
                continue
            assert mode in (0o644, 0o755), (path, oct(mode))
    assert stat.S_IMODE((staged / "opt/raxe-desktop/raxe-desktop").stat().st_mode) == 0o755
    for script in ("postinst", "postrm"):
        assert stat.S_IMODE((staged / "DEBIAN" / script).stat().st_mode) == 0o755


def test_control_file(staged: Path) -> None:
    control = (staged / "DEBIAN" / "control").read_text()
    fields = dict(
        line.split(": ", 1) for line in control.splitlines() if line and not line.startswith(" ")
    )
    assert fields["Package"] == "raxe-desktop"
    assert fields["Version"] == "1.2.3"
    assert fields["Architecture"] == "amd64"
    assert int(fields["Installed-Size"]) >= 1
    depends = fields["Depends"]
    assert depends.startswith("libc6 (>= 2.")  # floor read from /bin/true's symbol versions
    for lib in ("libxcb-cursor0", "libxkbcommon-x11-0", "libfontconfig1", "libegl1", "libdbus-1-3"):
        assert lib in depends
    # Extended description: every continuation line starts with a space.
    description = control.split("Description: ", 1)[1].splitlines()
    assert description[0] == buildinfo.SUMMARY
    assert all(line.startswith(" ") for line in description[1:])


def test_md5sums_cover_every_file(staged: Path) -> None:
    listed = {line.split("  ", 1)[1] for line in (staged / "DEBIAN/md5sums").read_text().splitlines()}
    files = {
        Path(d, f).relative_to(staged).as_posix()
        for d, _, fs in os.walk(staged)
        for f in fs
        if not Path(d, f).is_symlink() and Path(d).relative_to(staged).parts[:1] != ("DEBIAN",)
    }
    assert listed == files


def test_libstdcxx_floor_maps_symbol_versions_to_gcc() -> None:
    assert package_linux._GLIBCXX_TO_GCC[30] == 12


@pytest.mark.parametrize("script", ["postinst", "postrm"])
def test_maintainer_scripts_are_posix_sh(script: str) -> None:
    path = INSTALLER_DIR / "linux" / script
    subprocess.run(["sh", "-n", str(path)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "-s", "sh", str(path)], check=True)


@pytest.mark.parametrize(("script", "action"), [("postinst", "configure"), ("postrm", "remove")])
def test_maintainer_scripts_succeed_without_the_cache_tools(tmp_path: Path, script: str, action: str) -> None:
    env = {"PATH": str(tmp_path / "empty-bin"), "DPKG_ROOT": str(tmp_path)}
    proc = subprocess.run(["/bin/sh", str(INSTALLER_DIR / "linux" / script), action], env=env)
    assert proc.returncode == 0


@needs_dpkg
def test_deb_builds_and_installs_and_removes_cleanly(tmp_path: Path, staged: Path) -> None:
    deb = package_linux.build_deb(staged, tmp_path / "out", "1.2.3", arch="amd64")
    assert deb.name == "raxe-desktop_1.2.3_amd64.deb"
    info = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version"], capture_output=True, text=True, check=True)
    assert info.stdout.split() == ["Package:", "raxe-desktop", "Version:", "1.2.3"]

    root = install_into_temp_root(deb, tmp_path / "sysroot")
    assert (root / "opt/raxe-desktop/raxe-desktop").is_file()
    assert (root / "usr/bin/raxe-desktop").resolve() == (root / "opt/raxe-desktop/raxe-desktop").resolve()
    remove_from_temp_root(root)
    assert leftovers(root) == []


def install_into_temp_root(deb: Path, root: Path) -> Path:
    """dpkg -i into an empty root with its own database (no chroot; scripts see DPKG_ROOT)."""
    admin = root / "var" / "lib" / "dpkg"
    for sub in ("info", "updates"):
        (admin / sub).mkdir(parents=True, exist_ok=True)
    (admin / "status").touch()
    dpkg(root, "--force-depends", "-i", str(deb))
    return root


def remove_from_temp_root(root: Path) -> None:
    dpkg(root, "-r", "raxe-desktop")


def dpkg(root: Path, *args: str) -> None:
    subprocess.run(
        ["dpkg", f"--root={root}", "--force-script-chrootless", "--log=/dev/null", *args],
        check=True,
        capture_output=True,
    )


#: System caches the maintainer scripts refresh; they belong to the system, not the package.
CACHE_FILES = {"usr/share/icons/hicolor/icon-theme.cache", "usr/share/applications/mimeinfo.cache"}


def leftovers(root: Path) -> list[str]:
    """Files (not directories) left outside dpkg's database after removal."""
    found = []
    for dirpath, _dirs, files in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts[:1] == ("var",):
            continue
        for name in files:
            rel = (rel_dir / name).as_posix()
            if rel not in CACHE_FILES:
                found.append(rel)
    return sorted(found)


def test_tarball_layout(tmp_path: Path) -> None:
    tarball = package_linux.build_tarball(fake_bundle(tmp_path), fake_icons(tmp_path), tmp_path / "out", "1.2.3")
    assert tarball.name.startswith("raxe-desktop-1.2.3-linux-") and tarball.name.endswith(".tar.gz")
    with tarfile.open(tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert "raxe-desktop-1.2.3/raxe-desktop" in members
    assert members["raxe-desktop-1.2.3/raxe-desktop"].mode & 0o100
    assert "raxe-desktop-1.2.3/share/applications/raxe-desktop.desktop" in members
    assert "raxe-desktop-1.2.3/share/icons/hicolor/48x48/apps/raxe-desktop.png" in members
    assert all(m.uid == 0 and m.uname == "root" for m in members.values())
    assert not list((tmp_path / "out").glob(".*"))  # staging cleaned up


def test_version_comes_from_pyproject() -> None:
    import desktop

    assert buildinfo.project_version(REPO_ROOT) == desktop.__version__
