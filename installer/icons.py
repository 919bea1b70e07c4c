"""Application icons for the installers: hicolor PNGs, a Windows .ico and a macOS .icns.

The sources are ``resources/icons/raxe-desktop.svg`` and its pre-rendered PNGs
(``raxe-desktop-<size>.png``, made by ``resources/render_icons.py``). Sizes the
resources lack (24 px for Windows, 512/1024 px for macOS) are rendered from the SVG
with QtSvg. ICO and ICNS files are written here with PNG payloads, which every
supported Windows and macOS version reads, so no imaging library is needed.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

ICON_NAME = "raxe-desktop"
#: hicolor theme sizes installed by the .deb (plus scalable/ for the SVG).
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS element types with PNG payloads: (type, pixel size).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),  # 512x512@2x
    (b"ic11", 32),  # 16x16@2x
    (b"ic12", 64),  # 32x32@2x
    (b"ic13", 256),  # 128x128@2x
    (b"ic14", 512),  # 256x256@2x
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A .ico holding one PNG per size (256 is written as 0 in the directory, per the format)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    directory = b""
    payload = b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(payload))
        payload += data
    return header + directory + payload


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A .icns holding PNG elements for every type in :data:`ICNS_TYPES` we have a size for."""
    body = b""
    for kind, size in ICNS_TYPES:
        if size in pngs:
            data = pngs[size]
            body += kind + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def render_svg(svg: Path, size: int) -> bytes:
    """Render the SVG to a square PNG (the app's renderer; offscreen, no display needed)."""
    from desktop.app.icons import render_svg as render

    return render(svg, size)


def collect_pngs(icon_dir: Path, sizes: set[int]) -> dict[int, bytes]:
    """PNG bytes per size: the pre-rendered file where it exists, else rendered from the SVG."""
    svg = icon_dir / f"{ICON_NAME}.svg"
    out: dict[int, bytes] = {}
    for size in sorted(sizes):
        png = icon_dir / f"{ICON_NAME}-{size}.png"
        if png.exists():
            data = png.read_bytes()
            if png_size(data) != (size, size):
                raise ValueError(f"{png} is {png_size(data)}, expected {size}x{size}")
            out[size] = data
        elif svg.exists():
            out[size] = render_svg(svg, size)
        else:
            raise FileNotFoundError(f"neither {png} nor {svg} exists")
    return out


def build_icons(icon_dir: Path, out_dir: Path) -> Path:
    """Write hicolor/<size>x<size>/apps/*.png, hicolor/scalable/apps/*.svg, .ico and .icns."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    all_sizes = set(HICOLOR_SIZES) | set(ICO_SIZES) | {size for _, size in ICNS_TYPES}
    pngs = collect_pngs(icon_dir, all_sizes)
    for size in HICOLOR_SIZES:
        target = out_dir / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        target.parent.mkdir(parents=True)
        target.write_bytes(pngs[size])
    svg = icon_dir / f"{ICON_NAME}.svg"
    if svg.exists():
        target = out_dir / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"
        target.parent.mkdir(parents=True)
        shutil.copyfile(svg, target)
    (out_dir / f"{ICON_NAME}.ico").write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    (out_dir / f"{ICON_NAME}.icns").write_bytes(icns_bytes(pngs))
    return out_dir
