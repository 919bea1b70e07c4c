"""The Qt layer: tray, clipboard watcher, hotkey bridge, worker, notifier, windows, settings.

Depends on ``desktop.detection`` and ``desktop.platform``; never the reverse.
"""
