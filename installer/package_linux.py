"""Linux packages from the PyInstaller bundle: a .deb (dpkg-deb) and a .tar.gz.

.deb layout::

    /opt/raxe-desktop/                       the one-dir bundle (raxe-desktop + _internal/)
    /usr/bin/raxe-desktop                    relative symlink -> ../../opt/raxe-desktop/raxe-desktop
    /usr/share/applications/raxe-desktop.desktop
    /usr/share/icons/hicolor/<n>x<n>/apps/raxe-desktop.png, scalable/apps/raxe-desktop.svg
    /usr/share/doc/raxe-desktop/copyright

The launcher link is relative so the package also works unpacked into any prefix
(``dpkg-deb -x pkg.deb DIR``), which is how CI tests it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

from buildinfo import APP_NAME, SUMMARY

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "linux"

MAINTAINER = "RAXE Desktop team <desktop@raxe.invalid>"

#: Libraries the bundle leaves to the system (see bundle_filter.SYSTEM_LIBRARIES),
#: as Debian/Ubuntu package names; "a | b" covers the t64 renames in Debian 13 / Ubuntu 24.04.
#: libc6 and libstdc++6 come first, with versions read from the bundle (deb_depends()).
DEB_DEPENDS = [
    "libgcc-s1",
    "libgl1",
    "libegl1",
    "libx11-6",
    "libx11-xcb1",
    "libxcb1",
    "libxcb-cursor0",
    "libxcb-glx0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-shm0",
    "libxcb-sync1",
    "libxcb-util1",
    "libxcb-xfixes0",
    "libxcb-xkb1",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libwayland-client0",
    "libwayland-cursor0",
    "libfontconfig1",
    "libfreetype6",
    "libglib2.0-0t64 | libglib2.0-0",
    "libdbus-1-3",
    "libgssapi-krb5-2",
]
#: Useful but not required: a tray (StatusNotifier) host for GNOME Shell, and a
#: Secret Service for the OS keychain (the app falls back to a key file without it).
DEB_SUGGESTS = ["gnome-shell-extension-appindicator", "gnome-keyring"]

LONG_DESCRIPTION = """\
RAXE Desktop lives in the system tray, watches what you copy and scans the text
you select on a hotkey. A local model and deterministic rules flag prompt
injection, jailbreaks, leaked secrets and personal data, and tell you why in
one sentence. Everything runs on this computer; the app has no network code."""


#: libstdc++ symbol version (GLIBCXX_3.4.N) -> the GCC release that introduced it.
_GLIBCXX_TO_GCC = {25: 8, 26: 9, 27: 9, 28: 10, 29: 11, 30: 12, 31: 13, 32: 13, 33: 14, 34: 15}
_VERSION_RE = re.compile(rb"\b(GLIBC|GLIBCXX)_(\d+(?:\.\d+)+)\b")


def symbol_version_floor(bundle: Path) -> tuple[tuple[int, ...], int | None]:
    """The newest glibc (GLIBC_x.y) and libstdc++ (GLIBCXX_3.4.N) versions any ELF file needs.

    Reads the version-reference section with ``objdump -p``, the same tool PyInstaller uses.
    """
    glibc: tuple[int, ...] = (2, 17)
    glibcxx: int | None = None
    for dirpath, _dirnames, filenames in os.walk(bundle):
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            with path.open("rb") as fp:
                if fp.read(4) != b"\x7fELF":
                    continue
            out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, check=True).stdout
            refs = out.split(b"Version References:", 1)[-1] if b"Version References:" in out else b""
            for kind, ver in _VERSION_RE.findall(refs):
                numbers = tuple(int(n) for n in ver.split(b"."))
                if kind == b"GLIBC":
                    glibc = max(glibc, numbers)
                elif len(numbers) == 3:
                    glibcxx = max(glibcxx or 0, numbers[2])
    return glibc, glibcxx


def deb_depends(bundle: Path) -> list[str]:
    glibc, glibcxx = symbol_version_floor(bundle)
    depends = ["libc6 (>= " + ".".join(str(n) for n in glibc) + ")"]
    if glibcxx is not None:
        gcc = _GLIBCXX_TO_GCC.get(glibcxx, max(_GLIBCXX_TO_GCC.values()) if glibcxx > 34 else 7)
        depends.append(f"libstdc++6 (>= {gcc})")
    else:
        depends.append("libstdc++6")
    return depends + DEB_DEPENDS


def deb_arch(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def installed_size_kib(root: Path) -> int:
    """Installed-Size for the control file: KiB of the files under ``root`` (excluding DEBIAN/)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root and "DEBIAN" in dirnames:
            dirnames.remove("DEBIAN")
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return (total + 1023) // 1024


def control_text(version: str, arch: str, installed_kib: int, depends: list[str]) -> str:
    description = "\n".join(" " + (line or ".") for line in LONG_DESCRIPTION.splitlines())
    fields = [
        ("Package", APP_NAME),
        ("Version", version),
        ("Section", "utils"),
        ("Priority", "optional"),
        ("Architecture", arch),
        ("Maintainer", MAINTAINER),
        ("Installed-Size", str(installed_kib)),
        ("Depends", ", ".join(depends)),
        ("Suggests", ", ".join(DEB_SUGGESTS)),
        ("Description", f"{SUMMARY}\n{description}"),
    ]
    return "".join(f"{key}: {value}\n" for key, value in fields)


def _normalise_modes(root: Path) -> None:
    """Directories 0755; files 0755 if executable else 0644 (what lintian expects)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(0o755 if mode & stat.S_IXUSR else 0o644)


def stage_share(icons: Path, share: Path) -> None:
    """applications/raxe-desktop.desktop and icons/hicolor/... under ``share``."""
    apps = share / "applications"
    apps.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATES / f"{APP_NAME}.desktop", apps / f"{APP_NAME}.desktop")
    shutil.copytree(icons / "hicolor", share / "icons" / "hicolor", dirs_exist_ok=True)


def stage_deb_root(bundle: Path, icons: Path, version: str, root: Path, arch: str | None = None) -> Path:
    """Lay out the package tree (with DEBIAN/) in ``root``; returns ``root``."""
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / APP_NAME
    shutil.copytree(bundle, opt, symlinks=True)
    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / APP_NAME).symlink_to(Path("..", "..", "opt", APP_NAME, APP_NAME))
    stage_share(icons, root / "usr" / "share")
    doc = root / "usr" / "share" / "doc" / APP_NAME
    doc.mkdir(parents=True)
    shutil.copyfile(TEMPLATES / "copyright", doc / "copyright")
    _normalise_modes(root)

    debian = root / "DEBIAN"
    debian.mkdir()
    for script in ("postinst", "postrm"):
        shutil.copyfile(TEMPLATES / script, debian / script)
        (debian / script).chmod(0o755)
    (debian / "control").write_text(
        control_text(version, arch or deb_arch(), installed_size_kib(root), deb_depends(opt)),
        encoding="utf-8",
    )
    (debian / "md5sums").write_text(_md5sums(root), encoding="utf-8")
    return root


def _md5sums(root: Path) -> str:
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root and "DEBIAN" in dirnames:
            dirnames.remove("DEBIAN")
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            lines.append(f"{digest}  {path.relative_to(root).as_posix()}\n")
    return "".join(lines)


def build_deb(root: Path, out_dir: Path, version: str, arch: str | None = None) -> Path:
    """dpkg-deb --build with zstd.

    zstd -9 packs the ~200 MB tree in ~20 s on two cores (xz -6 took over 6 minutes,
    gzip -6 ~26 s for a 13% bigger file). Every dpkg that can run the bundle reads
    zstd: the bundle needs the build machine's glibc or newer, and Debian 12 / Ubuntu
    22.04 and later read zstd packages.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{APP_NAME}_{version}_{arch or deb_arch()}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zzstd", "-z9", "--build", str(root), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return deb


def build_tarball(bundle: Path, icons: Path, out_dir: Path, version: str) -> Path:
    """raxe-desktop-<version>-linux-<arch>.tar.gz: the bundle plus share/ (desktop entry, icons)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    top = f"{APP_NAME}-{version}"
    tarball = out_dir / f"{top}-linux-{platform.machine().lower()}.tar.gz"
    staging = out_dir / f".{top}-share"
    if staging.exists():
        shutil.rmtree(staging)
    stage_share(icons, staging / "share")

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    try:
        with tarfile.open(tarball, "w:gz", compresslevel=6) as tar:
            tar.add(bundle, arcname=top, filter=owned_by_root)
            tar.add(staging / "share", arcname=f"{top}/share", filter=owned_by_root)
    finally:
        shutil.rmtree(staging)
    return tarball

