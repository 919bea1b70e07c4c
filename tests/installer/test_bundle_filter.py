"""What the spec keeps in and leaves out of the frozen bundle (no PyInstaller needed)."""

from __future__ import annotations

import bundle_filter as bf
import pytest


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/qwindows.dll",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
        "PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so",
        "PySide6\\plugins\\styles\\qmodernwindowsstyle.dll",
        "PySide6/Qt/plugins/styles/libqmacstyle.dylib",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "PySide6/Qt/lib/libQt6Network.so.6",  # QLocalServer: single instance
        "PySide6/Qt/lib/libQt6DBus.so.6",  # StatusNotifierItem tray on Linux
        "PySide6/Qt/lib/libQt6Svg.so.6",
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "PySide6/Qt/lib/libQt6WaylandClient.so.6",
        "PySide6/Qt6Widgets.dll",
        "PySide6/Qt/lib/QtGui.framework/Versions/A/QtGui",
        "PySide6/QtNetwork.abi3.so",
        "PySide6/QtSvg.pyd",
        "libQt6Core.so.6",
        "onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so",
        "models/l2_classifier.onnx",
        "resources/icons/active.svg",
        "libpython3.11.so.1.0",
        "libz.so.1",
    ],
)
def test_keeps_what_the_app_uses(dest: str) -> None:
    assert bf.keep(dest)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6/translations/qtbase_fr.qm",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/imageformats/libqpdf.so",
        "PySide6/Qt/plugins/imageformats/libqwebp.so",
        "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
        "PySide6/Qt/plugins/tls/libqopensslbackend.so",
        "PySide6/Qt/plugins/qmltooling/libqmldbg_tcp.so",
        "PySide6/Qt/plugins/generic/libqevdevmouseplugin.so",
        "PySide6/Qt/plugins/wayland-graphics-integration-client/libdmabuf-server.so",
        "PySide6/Qt/lib/libQt6Qml.so.6",
        "PySide6/Qt/lib/libQt6QuickControls2Material.so.6",
        "PySide6/Qt/lib/libQt6Pdf.so.6",
        "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
        "PySide6/Qt/lib/libQt6LabsSettings.so.6",
        "PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6",
        "PySide6/Qt/lib/libQt6WaylandCompositor.so.6",
        "PySide6/Qt/lib/QtQml.framework/Versions/A/QtQml",
        "PySide6/Qt6Quick.dll",
        "PySide6/QtQml.abi3.so",
        "PySide6/qml/QtQuick/Controls/qmldir",
        "libxcb-cursor.so.0",
        "libxkbcommon-x11.so.0",
        "libfontconfig.so.1",
        "libglib-2.0.so.0",
        "libdbus-1.so.3",
        "libstdc++.so.6",
        "libgcc_s.so.1",
    ],
)
def test_leaves_out_unused_qt_and_the_display_stack(dest: str) -> None:
    assert not bf.keep(dest)


def test_excludes_training_and_test_packages() -> None:
    for name in ("torch", "transformers", "faker", "tkinter", "pytest", "hypothesis"):
        assert name in bf.EXCLUDED_PACKAGES


def test_used_qt_modules_are_never_listed_as_unused() -> None:
    assert not set(bf.USED_QT_MODULES) & set(bf.UNUSED_QT_MODULES)
    assert "QtNetwork" in bf.USED_QT_MODULES


def test_filter_toc_keeps_entry_shape() -> None:
    toc = [
        ("PySide6/Qt/translations/qt_de.qm", "/src/qt_de.qm", "DATA"),
        ("models/manifest.json", "/src/manifest.json", "DATA"),
    ]
    assert bf.filter_toc(toc) == [("models/manifest.json", "/src/manifest.json", "DATA")]


def test_prune_keeps_libraries_reachable_from_roots_only() -> None:
    needed = {
        "/s/ext.so": ["libfoo.so.1", "libc.so.6"],
        "/s/libfoo.so.1": ["libbar.so.2"],
        "/s/libbar.so.2": [],
        "/s/libcairo.so.2": ["libpixman-1.so.0"],
        "/s/libpixman-1.so.0": [],
        "/s/libpython3.11.so.1.0": [],
        "/s/libQt6Core.so.6": ["libicuuc.so.73"],
    }
    entries = [
        ("pkg/ext.so", "/s/ext.so", "EXTENSION"),
        ("libfoo.so.1", "/s/libfoo.so.1", "BINARY"),
        ("libbar.so.2", "/s/libbar.so.2", "BINARY"),
        ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),  # only a dropped plugin used it
        ("libpixman-1.so.0", "/s/libpixman-1.so.0", "BINARY"),
        ("libpython3.11.so.1.0", "/s/libpython3.11.so.1.0", "BINARY"),  # the bootloader's
        ("PySide6/Qt/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),  # nobody at top
        ("models/manifest.json", "/s/manifest.json", "DATA"),
    ]
    kept, dropped = bf.prune_unreferenced_libraries(entries, lambda src: needed.get(src, []))
    names = [e[0] for e in kept]
    assert dropped == ["libQt6Core.so.6", "libcairo.so.2", "libpixman-1.so.0"]
    assert names == [
        "pkg/ext.so",
        "libfoo.so.1",
        "libbar.so.2",
        "libpython3.11.so.1.0",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "models/manifest.json",
    ]


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", ["pynput.keyboard._xorg", "pynput.mouse._xorg", "keyring.backends.SecretService"]),
        ("win32", ["pynput.keyboard._win32", "pynput.mouse._win32", "keyring.backends.Windows"]),
        ("darwin", ["pynput.keyboard._darwin", "pynput.mouse._darwin", "keyring.backends.macOS"]),
    ],
)
def test_hidden_imports_name_each_platforms_backends(platform: str, expected: list[str]) -> None:
    hidden = bf.hidden_imports(platform)
    for name in expected + ["keyring.backends.fail", "keyring.backends.chainer"]:
        assert name in hidden


def test_hidden_imports_exist_in_the_installed_packages() -> None:
    # Located through the distributions' file lists: importing pynput needs a display.
    from importlib.metadata import distribution

    for platform in ("linux", "win32", "darwin"):
        for name in bf.hidden_imports(platform):
            dist = distribution(name.split(".")[0])
            rel = name.replace(".", "/")
            assert dist.locate_file(f"{rel}.py").exists() or dist.locate_file(f"{rel}/__init__.py").exists(), name
