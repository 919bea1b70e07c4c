"""Command line: ``python -m desktop [run|scan|bench] ...`` (also ``raxe-desktop``).

With no subcommand, ``run``, or only options (``--config-dir``, ``--log-json``,
``--smoke-test``...), it starts the tray app. ``scan`` and ``bench`` use the
detection core only and never import Qt.
"""

from __future__ import annotations

import argparse
import codecs
import enum
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from desktop import __version__

if TYPE_CHECKING:
    from desktop.detection.detector import L2ThreatDetector
    from desktop.detection.types import DetectionResult


class ExitCode(enum.IntEnum):
    CLEAN = 0
    THREAT = 1
    USAGE = 2
    ERROR = 3


class InputError(Exception):
    """An input could not be read or decoded; the message is for the user."""


PROG = "raxe-desktop"
TOP_HELP = f"""usage: {PROG} [run] [APP OPTIONS] | scan ... | bench ...

RAXE Desktop: on-device warnings for threats in the text you copy and select.

commands:
  run (default)  start the tray app; see `{PROG} run --help` for its options
                 (--config-dir, --model-dir, --log-json, --smoke-test, ...)
  scan           scan text, files or JSON lines and print the verdict
  bench          measure latency, throughput, load time and memory

exit status: 1 threat found (whatever else happened), else 3 a scan failed (a bug: the
error's type is printed, never the text), else 2 usage or input error (or a --model-dir that
does not load), else 0 clean.
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "scan":
            return scan_main(args[1:])
        if args and args[0] == "bench":
            from desktop.bench import main as bench_main

            return bench_main(args[1:])
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        _stdout_gone()
        return BROKEN_PIPE
    if args and args[0] in ("-h", "--help", "help"):
        print(TOP_HELP)
        return ExitCode.CLEAN
    if args and args[0] == "--version":
        print(f"{PROG} {__version__}")
        return ExitCode.CLEAN
    if args and args[0] == "run":
        args = args[1:]
    return run_app(args)


def run_app(args: list[str]) -> int:
    """Start the tray app (imports Qt; only this branch does)."""
    try:
        from desktop.app.main import main as app_main
    except ImportError as exc:
        print(f"{PROG}: the tray app cannot start: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return int(app_main(args) or 0)


# ----------------------------------------------------------------------------- scan


def build_scan_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{PROG} scan",
        description="Scan text for threats. Exit status: 1 threat found, else 3 a scan failed, "
        "else 2 usage or input error, else 0 clean.",
    )
    p.add_argument("text", nargs="*", help="text to scan (words are joined); '-' reads stdin")
    p.add_argument(
        "--file",
        "-f",
        action="append",
        default=[],
        type=Path,
        help="scan a text file (UTF-8, or UTF-16 with a byte-order mark) as one text (repeatable)",
    )
    p.add_argument(
        "--jsonl",
        metavar="FILE",
        help="scan one text per line (raw text, or a JSON object with 'text'); '-' for stdin; "
        "prints one JSON object per line",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per input")
    p.add_argument("--model-dir", type=Path, default=None, help="model directory")
    p.add_argument("--rules-only", action="store_true", help="do not load the model")
    p.add_argument("--threads", type=int, default=1, help="ONNX intra-op threads (default 1)")
    return p


def scan_main(argv: list[str]) -> int:
    parser = build_scan_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    if ns.threads < 1:
        return _usage("--threads must be at least 1")
    if ns.jsonl and (ns.text or ns.file):
        return _usage("--jsonl cannot be combined with TEXT or --file")
    if not (ns.text or ns.file or ns.jsonl):
        return _usage("nothing to scan: give TEXT, --file FILE, --jsonl FILE or '-' for stdin")
    _reconfigure(sys.stdout)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")

    inputs: list[tuple[str, str]] = []
    try:
        if ns.text == ["-"]:
            inputs.append(("stdin", _decode(sys.stdin.buffer.read(), "stdin")))
        elif ns.text:
            inputs.append(("argument", " ".join(ns.text)))
        for path in ns.file:
            inputs.append((str(path), read_text_file(path)))
    except InputError as exc:
        return _usage(str(exc), show_usage=False)

    detector = _make_detector(ns)
    if ns.model_dir is not None and not ns.rules_only and detector.classifier is None:
        # Asked for this model by name: a typo must not pass for a clean rules-only verdict.
        return _usage(f"--model-dir {ns.model_dir}: {detector.mode_reason}", show_usage=False)
    if ns.jsonl:
        return scan_jsonl(detector, ns.jsonl, sys.stdout, sys.stderr)

    status = ExitCode.CLEAN
    failed = False
    for i, (name, text) in enumerate(inputs):
        try:
            result = detector.detect(text)
        except Exception as exc:  # noqa: BLE001 - a bug; say so, and go on with the other inputs
            print(f"{PROG}: error: scanning {name} failed ({type(exc).__name__})", file=sys.stderr)
            failed = True
            continue
        if result.is_threat:
            status = ExitCode.THREAT
        try:
            if ns.json:
                data = result.to_dict()
                if len(inputs) > 1 or name not in ("argument", "stdin"):
                    data["input"] = name
                print(json.dumps(data, ensure_ascii=False), flush=True)
            else:
                if len(inputs) > 1:
                    print(("\n" if i else "") + f"== {name} ==")
                print(format_result(result), flush=True)
        except BrokenPipeError:
            # The reader stopped reading (`scan ... | head -1`): the verdicts so
            # far still decide the exit status; the rest is not scanned.
            _stdout_gone()
            return status
    # A threat decides the status even beside a failed scan: a script that checks for 1 must
    # not miss it.
    return status if status is ExitCode.THREAT else ExitCode.ERROR if failed else status


#: Exit status when stdout closed under a command other than a text scan (as a shell reports SIGPIPE).
BROKEN_PIPE = 141


def _stdout_gone() -> None:
    """Point stdout at devnull so that the interpreter's final flush does not raise again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests capture stdout)
        pass


def _make_detector(ns: argparse.Namespace) -> L2ThreatDetector:
    from desktop.detection.detector import L2ThreatDetector

    return L2ThreatDetector(ns.model_dir, threads=ns.threads, rules_only=ns.rules_only)


def _usage(message: str, *, show_usage: bool = True) -> int:
    if show_usage:
        print(f"usage: {PROG} scan [TEXT ... | - | --file FILE | --jsonl FILE]", file=sys.stderr)
    print(f"{PROG} scan: error: {message}", file=sys.stderr)
    return ExitCode.USAGE


def _reconfigure(stream: IO[str]) -> None:
    """Never die on printing: odd characters become escapes, not a crash."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def _decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without a byte-order mark), or UTF-16 with its byte-order mark (what
    Windows Notepad calls "Unicode")."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        if utf16:
            raise InputError(f"{name} is not valid UTF-16 text (offset {exc.start})") from None
        raise InputError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def read_text_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not a file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _decode(data, str(path))


# ----------------------------------------------------------------------------- jsonl


def iter_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | None, str | None, str]]:
    """``(line number, extra fields, text or None, error)`` for each non-blank line."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield number, None, None, f"line is not UTF-8 text (offset {exc.start})"
            continue
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):  # not JSON, or nested too deep: plain text
                obj = None
            if isinstance(obj, dict):
                text = obj.get("text")
                if not isinstance(text, str):
                    yield number, None, None, "JSON object has no string field 'text'"
                    continue
                extra = {"id": obj["id"]} if "id" in obj else {}
                yield number, extra, text, ""
                continue
        yield number, {}, line, ""


def scan_jsonl(detector: L2ThreatDetector, source: str, out: IO[str], err: IO[str]) -> int:
    if source == "-":
        stream: IO[bytes] = sys.stdin.buffer
        total = None
    else:
        path = Path(source)
        try:
            stream = path.open("rb")
        except OSError as exc:
            return _usage(f"cannot read {path}: {exc.strerror or exc}", show_usage=False)
        total = _count_lines(path) if err.isatty() else None
    progress = Progress(err, total) if err.isatty() else None
    threats = errors = failures = 0
    try:
        for number, extra, text, error in iter_jsonl(stream):
            if text is None:
                errors += 1
                out.write(json.dumps({"line": number, "error": error}) + "\n")
            else:
                try:
                    result = detector.detect(text)
                except Exception as exc:  # noqa: BLE001 - a bug: report the line, go on
                    failures += 1
                    error = f"scan failed ({type(exc).__name__})"
                    out.write(json.dumps({"line": number, **(extra or {}), "error": error}) + "\n")
                else:
                    threats += result.is_threat
                    data = {"line": number, **(extra or {}), **result.to_dict()}
                    out.write(json.dumps(data, ensure_ascii=False) + "\n")
            out.flush()
            if progress:
                progress.update(number, threats)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
        if progress:
            progress.close()
    if errors or failures:
        print(f"{PROG} scan: {errors + failures} line(s) could not be scanned", file=err)
    # As for TEXT and --file: a threat first, then a failed scan, then an unreadable line.
    if threats:
        return ExitCode.THREAT
    return ExitCode.ERROR if failures else ExitCode.USAGE if errors else ExitCode.CLEAN


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except OSError:
        return None


class Progress:
    """A one-line progress bar on a terminal (only used when stderr is a TTY)."""

    def __init__(self, stream: IO[str], total: int | None, interval: float = 0.1) -> None:
        self.stream, self.total, self.interval = stream, total, interval
        self.last = 0.0
        self.started = time.monotonic()
        self.state = (0, 0)

    def update(self, line: int, threats: int, *, force: bool = False) -> None:
        self.state = (line, threats)
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        rate = line / max(now - self.started, 1e-9)
        if self.total:
            done = min(1.0, line / self.total)
            bar = "#" * int(done * 30)
            text = f"\r[{bar:<30}] {line}/{self.total} lines, {threats} threats, {rate:.0f}/s"
        else:
            text = f"\r{line} lines, {threats} threats, {rate:.0f}/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        self.update(*self.state, force=True)
        self.stream.write("\n")
        self.stream.flush()


# ----------------------------------------------------------------------------- output


def format_result(result: DetectionResult) -> str:
    """The human-readable verdict ``scan`` prints."""
    from desktop.detection.explain import CARRIERS, fallback_redact, shorten

    name = result.category.info.display_name
    if result.is_threat:
        head = (
            f"THREAT  {name} ({result.label}), {result.severity.label} severity, "
            f"confidence {result.confidence:.2f}"
        )
    else:
        # A benign probability under 0.5 (no class reached its threshold either) or the rules'
        # 0.5 says nothing useful: only a confident model gets its figure printed.
        sure = result.mode != "rules-only" and result.confidence >= 0.5
        head = f"CLEAN   {name}" + (f", confidence {result.confidence:.2f}" if sure else "")
    lines = [head, f"  {result.explanation}"]
    if result.evidence:
        lines.append("Evidence:")
        for e in result.evidence[:20]:
            excerpt = f"  “{e.excerpt}”" if e.excerpt else ""
            rule = e.rule_id or e.source
            lines.append(
                f"  - [{e.source}:{rule}] {e.category.label}, {e.severity.label}, "
                f"chars {e.start}–{e.end}: {e.message}{excerpt}"
            )
        if len(result.evidence) > 20:
            lines.append(f"  - … {len(result.evidence) - 20} more")
    if result.hidden_content:
        lines.append("Hidden content:")
        for layer in result.hidden_content[:10]:
            kind = CARRIERS.get(layer.kind, layer.kind)
            decoded = shorten(fallback_redact(layer.decoded), words=12, chars=120)
            lines.append(f"  - {kind} at chars {layer.start}–{layer.end}: “{decoded}”")
    scanned = (
        f"first {result.scanned_chars:,} of {result.total_chars:,} characters (truncated)"
        if result.truncated
        else f"all {result.total_chars:,} characters"
    )
    mode = result.mode + (f" ({result.mode_reason})" if result.mode_reason else "")
    lines.append(f"Scanned: {scanned} in {result.latency_ms:.1f} ms")
    lines.append(f"Mode:    {mode}")
    return "\n".join(lines)
