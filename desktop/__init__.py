"""RAXE Desktop: on-device threat warnings for what you copy and select."""

__version__ = "0.1.0"
