"""What goes into the frozen bundle: module excludes and the Qt file filter.

Plain functions over path strings so they can be tested without PyInstaller.
``raxe-desktop.spec`` imports this module and applies :func:`keep` to every
binary and data entry PyInstaller collected.

The app uses QtCore, QtGui, QtWidgets, QtSvg (SVG tray icons) and QtNetwork
(``QLocalServer`` for the single-instance handshake). QtDBus stays too: on
Linux the tray icon talks StatusNotifierItem over D-Bus. Everything else in
PySide6 is dead weight.
"""

from __future__ import annotations

import fnmatch
import os
import re

#: Python packages the app never imports at run time. Some are installed next to
#: it (training extra, dev tools) and would be pulled in through optional imports.
EXCLUDED_PACKAGES = [
    # training stack
    "torch",
    "torchvision",
    "transformers",
    "onnx",
    "onnxscript",
    "onnx_ir",
    "sympy",
    "faker",
    "datasets",
    "huggingface_hub",
    "safetensors",
    "sklearn",
    "scipy",
    "pandas",
    "matplotlib",
    # test and dev tools
    "pytest",
    "_pytest",
    "pytestqt",
    "pytest_benchmark",
    "hypothesis",
    "ruff",
    "importlinter",
    "IPython",
    "PyInstaller",
    # optional imports of libraries we bundle: numpy's build-config printer (yaml),
    # f2py, onnxruntime's model-optimisation and diagnostics tools
    "yaml",
    "numpy.f2py",
    "numpy.distutils",
    "onnxruntime.transformers",
    "onnxruntime.quantization",
    "onnxruntime.tools",
    "psutil",
    "cpuinfo",
    "py3nvml",
    # HTTP clients: only stdnum's online-check helpers would use them (never called);
    # leaving them out keeps the bundle free of any HTTP stack
    "requests",
    "urllib3",
    "charset_normalizer",
    "certifi",
    "idna",
    "zeep",
    "suds",
    "pysimplesoap",
    # GUI toolkits we do not use
    "tkinter",
    "_tkinter",
    "PyQt5",
    "PyQt6",
    "PySide2",
    # standard-library parts a tray app does not need (ssl stays: stdnum.util
    # imports it unconditionally, though the app never opens a connection)
    "readline",
    "pdb",
    "doctest",
    "unittest",
    "lib2to3",
    "xmlrpc",
    "idlelib",
    "turtle",
    "turtledemo",
    "ensurepip",
    "venv",
]

#: Qt modules we do not use (PySide6.<name>); also the shared libraries behind them.
UNUSED_QT_MODULES = [
    "Qt3DAnimation",
    "Qt3DCore",
    "Qt3DExtras",
    "Qt3DInput",
    "Qt3DLogic",
    "Qt3DRender",
    "QtAxContainer",
    "QtBluetooth",
    "QtCharts",
    "QtConcurrent",
    "QtDataVisualization",
    "QtDesigner",
    "QtGraphs",
    "QtGraphsWidgets",
    "QtHelp",
    "QtHttpServer",
    "QtLocation",
    "QtMultimedia",
    "QtMultimediaWidgets",
    "QtNetworkAuth",
    "QtNfc",
    "QtOpenGL",
    "QtOpenGLWidgets",
    "QtPdf",
    "QtPdfWidgets",
    "QtPositioning",
    "QtPrintSupport",
    "QtQml",
    "QtQuick",
    "QtQuick3D",
    "QtQuickControls2",
    "QtQuickTest",
    "QtQuickWidgets",
    "QtRemoteObjects",
    "QtScxml",
    "QtSensors",
    "QtSerialBus",
    "QtSerialPort",
    "QtSpatialAudio",
    "QtSql",
    "QtStateMachine",
    "QtSvgWidgets",
    "QtTest",
    "QtTextToSpeech",
    "QtUiTools",
    "QtWebChannel",
    "QtWebEngineCore",
    "QtWebEngineQuick",
    "QtWebEngineWidgets",
    "QtWebSockets",
    "QtWebView",
    "QtXml",
]

#: Qt modules the app needs; never filtered, whatever the patterns below say.
USED_QT_MODULES = ["QtCore", "QtGui", "QtWidgets", "QtSvg", "QtNetwork", "QtDBus"]

#: Qt plugins kept, as ``<plugin dir>/<file name glob>`` (file names without the
#: platform prefix/suffix: ``libqxcb.so``, ``qxcb.dll`` and ``libqxcb.dylib``
#: all match ``qxcb``). A plugin directory not listed here is dropped whole.
KEPT_QT_PLUGINS = [
    # display back ends: X11, Wayland, offscreen (smoke test), Windows, macOS
    "platforms/qxcb",
    "platforms/qwayland*",
    "platforms/qoffscreen",
    "platforms/qwindows",
    "platforms/qdirect2d",
    "platforms/qcocoa",
    "xcbglintegrations/*",
    # Wayland client side: window decorations and the desktop shell protocol
    # (EGL buffer integrations are left out: the app draws with the raster engine)
    "wayland-decoration-client/*",
    "wayland-shell-integration/xdg-shell",
    # desktop integration: portal theme, native Windows and macOS styles, input methods
    "platformthemes/qxdgdesktopportal",
    "styles/qwindowsvistastyle",
    "styles/qmodernwindowsstyle",
    "styles/qmacstyle",
    "platforminputcontexts/composeplatforminputcontextplugin",
    "platforminputcontexts/ibusplatforminputcontextplugin",
    # icons: SVG tray icons, ICO/ICNS app icons (PNG is built into QtGui)
    "iconengines/qsvgicon",
    "imageformats/qsvg",
    "imageformats/qico",
    "imageformats/qicns",
]

#: Qt translations we keep (by file name glob). The UI is English; Qt's own
#: strings (dialog buttons) fall back to English without any file.
KEPT_QT_TRANSLATIONS: list[str] = []

#: Shared libraries that belong to the target system's display stack and are
#: never bundled (the .deb declares them as dependencies, see ``linux.DEB_DEPENDS``):
#: a copy from the build machine can clash with the drivers and fonts there.
SYSTEM_LIBRARIES = [
    r"libxcb(-[a-z0-9-]+)?\.so(\..*)?",
    r"libX11(-xcb)?\.so(\..*)?",
    r"libXau\.so(\..*)?",
    r"libXdmcp\.so(\..*)?",
    r"libxkbcommon(-x11)?\.so(\..*)?",
    r"libwayland-[a-z]+\.so(\..*)?",
    r"libfontconfig\.so(\..*)?",
    r"libfreetype\.so(\..*)?",
    r"lib(glib|gthread|gobject|gio|gmodule)-2\.0\.so(\..*)?",
    r"libdbus-1\.so(\..*)?",
    r"libgssapi_krb5\.so(\..*)?",
    r"libstdc\+\+\.so(\..*)?",
    r"libgcc_s\.so(\..*)?",
]
_SYSTEM_LIB_RE = re.compile("|".join(f"(?:{p})" for p in SYSTEM_LIBRARIES))

_PLUGIN_RE = re.compile(r"(?:^|/)PySide6/(?:Qt/)?plugins/([^/]+)/([^/]+)$")
_TRANSLATION_RE = re.compile(r"(?:^|/)PySide6/(?:Qt/)?translations/([^/]+)$")
_QT_LIB_RE = re.compile(r"(?:^|/)(?:lib)?Qt6([A-Za-z0-9]+?)(?:\.so(?:\.\d+)*|\.dll|\.dylib)?$")
_PYSIDE_EXT_RE = re.compile(r"(?:^|/)PySide6/(Qt[A-Za-z0-9]+)\.(?:abi3\.so|pyd|so|pyi)$")


def _unused_lib_prefixes() -> tuple[str, ...]:
    # "QtQuick" -> "Quick": matches libQt6Quick*.so (QuickControls2, QuickShapes, ...)
    return tuple(name[2:] for name in UNUSED_QT_MODULES)


def _used_lib_names() -> set[str]:
    return {name[2:] for name in USED_QT_MODULES}


def plugin_stem(file_name: str) -> str:
    """``libqxcb.so`` / ``qxcb.dll`` / ``libqxcb.dylib`` -> ``qxcb``."""
    stem = file_name
    for suffix in (".so", ".dll", ".dylib"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem.startswith("lib"):
        stem = stem[3:]
    return stem


def keep_plugin(plugin_dir: str, file_name: str) -> bool:
    stem = plugin_stem(file_name)
    for pattern in KEPT_QT_PLUGINS:
        want_dir, want_file = pattern.split("/", 1)
        if plugin_dir == want_dir and fnmatch.fnmatchcase(stem, want_file):
            return True
    return False


def _qt_lib_name(path: str) -> str | None:
    """``.../libQt6QuickControls2.so.6`` -> ``QuickControls2``; ``QtGui.framework/...`` -> ``Gui``."""
    match = _QT_LIB_RE.search(path)
    if match:
        return match.group(1)
    frame = re.search(r"(?:^|/)Qt([A-Za-z0-9]+)\.framework/", path)
    if frame:
        return frame.group(1)
    return None


def keep(dest_name: str) -> bool:
    """Whether a collected file (its path inside the bundle) stays in the bundle."""
    path = dest_name.replace("\\", "/")

    if _SYSTEM_LIB_RE.fullmatch(path.rsplit("/", 1)[-1]):
        return False

    match = _PLUGIN_RE.search(path)
    if match:
        return keep_plugin(match.group(1), match.group(2))

    match = _TRANSLATION_RE.search(path)
    if match:
        return any(fnmatch.fnmatchcase(match.group(1), g) for g in KEPT_QT_TRANSLATIONS)

    if "/qml/" in f"/{path}" and "PySide6/" in path:
        return False

    match = _PYSIDE_EXT_RE.search(path)
    if match:
        return match.group(1) not in UNUSED_QT_MODULES

    lib = _qt_lib_name(path)
    if lib is not None:
        if lib in _used_lib_names():
            return True
        # Labs*, Wayland compositor and EGLFS device libraries are only used by
        # QML or embedded platforms; the Wayland *client* library stays.
        if lib.lower().startswith(("labs", "waylandcompositor", "waylandegl", "wlshell", "eglfs")):
            return False
        return not lib.startswith(_unused_lib_prefixes())

    return True


def filter_toc(entries):
    """Drop the entries :func:`keep` rejects from a PyInstaller TOC (list of 3-tuples)."""
    return [entry for entry in entries if keep(entry[0])]


def _is_top_level_library(dest_name: str) -> bool:
    name = dest_name.replace("\\", "/")
    return "/" not in name and name.startswith("lib") and ".so" in name and not name.startswith("libpython")


def prune_unreferenced_libraries(entries, needed_of):
    """Drop shared libraries in the bundle root that no kept binary links to (Linux).

    Filtering plugins out (GTK theme, EGL integrations) leaves behind the system
    libraries PyInstaller collected for them (cairo, pango, harfbuzz, systemd, ...).
    Everything not a top-level ``lib*.so*`` is a root (extension modules, Qt libraries
    and plugins, libpython); a top-level library stays if a root needs it, directly or
    through another kept library. ``needed_of(src_path)`` returns DT_NEEDED sonames.
    Returns ``(kept_entries, dropped_dest_names)``.
    """
    top = {}
    for entry in entries:
        if _is_top_level_library(entry[0]):
            top.setdefault(entry[0], []).append(entry)
    reachable: set[str] = set()
    queue = [e for e in entries if not _is_top_level_library(e[0]) and e[2] != "SYMLINK"]
    seen_src: set[str] = set()
    while queue:
        entry = queue.pop()
        src = str(entry[1])
        if src in seen_src:
            continue
        seen_src.add(src)
        for soname in needed_of(src):
            if soname in top and soname not in reachable:
                reachable.add(soname)
                queue.extend(e for e in top[soname] if e[2] != "SYMLINK")
    kept = [e for e in entries if not _is_top_level_library(e[0]) or e[0] in reachable]
    dropped = sorted(name for name in top if name not in reachable)
    return kept, dropped


def objdump_needed(path: str) -> list[str]:
    """DT_NEEDED entries of an ELF file via ``objdump -p`` (binutils; PyInstaller needs it too)."""
    import subprocess

    if not path or not os.path.isfile(path):
        return []
    proc = subprocess.run(["objdump", "-p", path], capture_output=True, text=True, check=False)
    return [line.split()[1] for line in proc.stdout.splitlines() if line.strip().startswith("NEEDED")]


def hidden_imports(platform: str) -> list[str]:
    """Modules PyInstaller cannot see: pynput and keyring pick their back end at run time."""
    pynput = {
        "linux": [
            "pynput.keyboard._xorg",
            "pynput.mouse._xorg",
            "pynput.keyboard._uinput",
            "pynput._util.xorg",
            "pynput._util.uinput",
        ],
        "win32": ["pynput.keyboard._win32", "pynput.mouse._win32", "pynput._util.win32"],
        "darwin": ["pynput.keyboard._darwin", "pynput.mouse._darwin", "pynput._util.darwin"],
    }
    keyring = {
        "linux": ["keyring.backends.SecretService", "keyring.backends.kwallet", "keyring.backends.libsecret"],
        "win32": ["keyring.backends.Windows"],
        "darwin": ["keyring.backends.macOS"],
    }
    key = "linux" if platform.startswith("linux") else platform
    common = [
        "pynput.keyboard._dummy",
        "pynput.mouse._dummy",
        "keyring.backends.chainer",
        "keyring.backends.fail",
        "keyring.backends.null",
    ]
    return pynput.get(key, []) + keyring.get(key, []) + common
