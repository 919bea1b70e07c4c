"""The ONNX classifier: manifest, session, tokenizer and windowing for long text.

The model directory holds three files (see ``models/manifest.json``)::

    l2_classifier.onnx   int64 [batch, seq] inputs -> float32 logits [batch, 8]
    tokenizer.json       a Hugging Face ``tokenizers`` file (BERT WordPiece)
    manifest.json        labels, window sizes, temperature, thresholds, sha256s

Everything is checked when loading; any problem is a :class:`ModelLoadError`
whose message says which file and what is wrong, so the detector can report
why it runs in rules-only mode.

Long text is tokenised once (with character offsets), cut into overlapping
windows of ``max_length`` tokens that share ``stride`` tokens, and run one window per
call (see :data:`DEFAULT_BATCH_SIZE`). Past ``max_windows`` windows (or a character bound) the result says
``truncated`` and how many characters were read.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.detection.categories import LABELS, Category
from desktop.detection.paths import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE

#: Inputs the runner knows how to build; the graph may declare any subset.
KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Windows per ``session.run`` call. One: the INT8 model quantises activations dynamically, with a
#: scale taken from the whole call, so a window run beside others (or beside padding) gets other
#: scores than alone, and the thresholds were calibrated on windows scored alone (on long test
#: texts a batch of 16 moved probabilities by up to 0.45 and was no faster).
DEFAULT_BATCH_SIZE = 1
#: Characters tokenised per window allowed (a cheap pre-bound before tokenising).
CHARS_PER_TOKEN_BOUND = 8

_OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")
# onnxruntime's fused SkipLayerNormalization kernel takes ~4x as long as the Add +
# LayerNormalization it replaces on these CPUs (profiled: 385 µs against ~90 µs per
# run at 64 tokens), so the fusion is turned off: p50 ~13 % lower, same outputs.
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ModelLoadError(Exception):
    """The model files are missing, corrupt or do not match the manifest."""


# --------------------------------------------------------------------------- session


def build_session(
    path: str | Path,
    *,
    threads: int = 1,
    optimization: str = "all",
    disabled_optimizers: Sequence[str] = DISABLED_OPTIMIZERS,
) -> Any:
    """Build the one kind of ``onnxruntime.InferenceSession`` the app uses.

    CPU only, sequential execution, ``threads`` intra-op threads and one inter-op
    thread, graph optimisation ``disable``/``basic``/``extended``/``all`` less
    ``disabled_optimizers`` (the app always uses the default,
    :data:`DISABLED_OPTIMIZERS`; benchmarks pass ``()`` to compare).
    Raises :class:`ModelLoadError` with a readable message on any failure.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelLoadError(f"onnxruntime is not installed: {exc}") from exc

    if optimization not in _OPTIMIZATION_LEVELS:
        raise ValueError(
            f"optimization must be one of {_OPTIMIZATION_LEVELS}, got {optimization!r}"
        )
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    if "CPUExecutionProvider" not in ort.get_available_providers():
        raise ModelLoadError(
            "onnxruntime has no CPUExecutionProvider; available: "
            + ", ".join(ort.get_available_providers())
        )
    level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[optimization]
    opts = ort.SessionOptions()
    opts.graph_optimization_level = level
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # errors only; warnings go through our logger
    try:
        return ort.InferenceSession(
            str(path),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(disabled_optimizers),
        )
    except Exception as exc:  # onnxruntime raises its own pybind exception types
        raise ModelLoadError(f"cannot load ONNX model {path.name}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class ModelManifest:
    """``manifest.json``, validated. Build with :meth:`load` or :meth:`from_dict`."""

    version: str
    labels: tuple[str, ...]
    max_length: int
    stride: int
    max_windows: int
    temperature: float
    thresholds: dict[str, float]
    inputs: tuple[str, ...]
    files: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)
    format: int = 1

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelManifest:
        path = Path(model_dir) / MANIFEST_FILE
        if not path.is_file():
            raise ModelLoadError(f"manifest not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ModelLoadError(f"manifest is not UTF-8: {path}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"manifest is not valid JSON: {path}: {exc}") from exc
        except OSError as exc:
            raise ModelLoadError(f"cannot read manifest {path}: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> ModelManifest:
        def bad(msg: str) -> ModelLoadError:
            return ModelLoadError(f"manifest: {msg}")

        if not isinstance(data, dict):
            raise bad("top level must be a JSON object")
        fmt = data.get("format")
        if fmt != 1:
            raise bad(f"unsupported format {fmt!r} (this app reads format 1)")
        labels = data.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise bad("'labels' must be a list of strings")
        if tuple(labels) != LABELS:
            raise bad(f"labels {labels} do not match the app's categories {list(LABELS)}")

        def int_field(name: str, lo: int, hi: int) -> int:
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise bad(f"'{name}' must be an integer in [{lo}, {hi}], got {value!r}")
            return value

        max_length = int_field("max_length", 8, 8192)
        stride = int_field("stride", 0, max_length - 4)
        max_windows = int_field("max_windows", 1, 4096)
        temperature = data.get("temperature", 1.0)
        if (
            not isinstance(temperature, int | float)
            or isinstance(temperature, bool)
            or not math.isfinite(temperature)
            or temperature <= 0
        ):
            raise bad(f"'temperature' must be a positive number, got {temperature!r}")

        thresholds_raw = data.get("thresholds", {})
        if not isinstance(thresholds_raw, dict):
            raise bad("'thresholds' must be an object of label -> probability")
        thresholds: dict[str, float] = {}
        for key, value in thresholds_raw.items():
            if key not in LABELS or key == Category.BENIGN.label:
                raise bad(f"threshold for unknown or non-threat label {key!r}")
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not 0.0 < float(value) <= 1.0
            ):
                raise bad(f"threshold for {key} must be in (0, 1], got {value!r}")
            thresholds[key] = float(value)

        inputs = data.get("inputs", list(KNOWN_INPUTS))
        if not isinstance(inputs, list) or not inputs or not set(inputs) <= set(KNOWN_INPUTS):
            raise bad(
                f"'inputs' must be a non-empty subset of {list(KNOWN_INPUTS)}, got {inputs!r}"
            )

        files = data.get("files")
        if not isinstance(files, dict):
            raise bad("'files' must map file names to sha256 hex digests")
        for name in (MODEL_FILE, TOKENIZER_FILE):
            digest = files.get(name)
            if not isinstance(digest, str) or not _SHA256_RE.match(digest.lower()):
                raise bad(f"'files' needs a sha256 hex digest for {name}, got {digest!r}")

        version = data.get("version", "")
        metrics = data.get("metrics", {})
        return cls(
            version=str(version),
            labels=tuple(labels),
            max_length=max_length,
            stride=stride,
            max_windows=max_windows,
            temperature=float(temperature),
            thresholds=thresholds,
            inputs=tuple(inputs),
            files={k: str(v).lower() for k, v in files.items()},
            metrics=metrics if isinstance(metrics, dict) else {},
            format=1,
        )

    def verify_files(self, model_dir: str | Path) -> None:
        """Check that every listed file exists and has the listed sha256."""
        model_dir = Path(model_dir)
        for name, expected in self.files.items():
            path = model_dir / name
            if not path.is_file():
                raise ModelLoadError(f"model file not found: {path}")
            actual = sha256_file(path)
            if actual != expected:
                raise ModelLoadError(
                    f"sha256 mismatch for {name}: manifest says {expected[:12]}…, "
                    f"file is {actual[:12]}… (corrupt or replaced file)"
                )


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- post-processing


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Numerically stable softmax over the last axis, after dividing by ``temperature``."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / np.sum(e, axis=-1, keepdims=True)).astype(np.float32)


def argmax_label(probs: Sequence[float] | np.ndarray, labels: Sequence[str] = LABELS) -> str:
    """The label with the highest probability."""
    return labels[int(np.argmax(np.asarray(probs)))]


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class WindowScores:
    """Per-window class probabilities for one text.

    ``probs[i]`` are the calibrated probabilities of window ``i`` (label order of
    :data:`LABELS`); ``spans[i]`` is the ``(start, end)`` character span it covers.
    ``scanned_chars`` is how much of the text the windows read; when it is less
    than ``total_chars`` the text was ``truncated``.
    """

    probs: np.ndarray
    spans: tuple[tuple[int, int], ...]
    truncated: bool
    scanned_chars: int
    total_chars: int
    n_tokens: int

    @property
    def n_windows(self) -> int:
        return len(self.spans)

    def max_probs(self) -> dict[str, float]:
        """Per threat label, the highest probability of any window; for ``benign``
        the lowest (the least benign window): each score is the worst case."""
        out = {}
        for i, label in enumerate(LABELS):
            column = self.probs[:, i]
            out[label] = float(column.min() if i == Category.BENIGN else column.max())
        return out

    def top_window(self, label: str) -> int:
        """Index of the window with the highest probability for ``label``."""
        return int(np.argmax(self.probs[:, LABELS.index(label)]))


def plan_windows(
    n_tokens: int, content_len: int, stride: int, max_windows: int
) -> list[tuple[int, int]]:
    """Token ranges ``[start, end)`` of overlapping windows, at most ``max_windows``.

    Consecutive windows share ``stride`` tokens. The last window is shifted back so
    it is full length (unless the text is shorter than one window).
    """
    if content_len <= 0:
        raise ValueError("content_len must be positive")
    step = max(1, content_len - stride)
    if n_tokens <= content_len:
        return [(0, n_tokens)]
    windows = []
    start = 0
    while len(windows) < max_windows:
        end = min(start + content_len, n_tokens)
        windows.append((max(0, end - content_len), end))
        if end >= n_tokens:
            break
        start += step
    return windows


class OnnxClassifier:
    """Tokeniser + ONNX session + manifest. Not thread-safe: one per worker thread."""

    def __init__(
        self,
        session: Any,
        tokenizer: Any,
        manifest: ModelManifest,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        model_dir: Path | None = None,
    ) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.batch_size = max(1, batch_size)
        self.model_dir = model_dir
        declared = [i.name for i in session.get_inputs()]
        unknown = [n for n in declared if n not in KNOWN_INPUTS]
        if unknown:
            raise ModelLoadError(f"model declares inputs this app cannot build: {unknown}")
        if "input_ids" not in declared:
            raise ModelLoadError("model does not declare an 'input_ids' input")
        self.input_names = tuple(declared)
        self.output_name = session.get_outputs()[0].name
        self._prefix, self._suffix, self.pad_id = _special_tokens(tokenizer)
        self.content_len = manifest.max_length - len(self._prefix) - len(self._suffix)
        if self.content_len <= manifest.stride:
            raise ModelLoadError(
                f"manifest stride {manifest.stride} leaves no room in max_length {manifest.max_length}"
            )
        #: Characters tokenised at most; past it the result is truncated.
        self.max_chars = manifest.max_windows * manifest.max_length * CHARS_PER_TOKEN_BOUND

    @classmethod
    def from_dir(
        cls,
        model_dir: str | Path,
        *,
        threads: int = 1,
        optimization: str = "all",
        batch_size: int = DEFAULT_BATCH_SIZE,
        verify: bool = True,
    ) -> OnnxClassifier:
        """Load and check the three files in ``model_dir``."""
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ModelLoadError(f"model directory not found: {model_dir}")
        manifest = ModelManifest.load(model_dir)
        for name in (MODEL_FILE, TOKENIZER_FILE):
            if not (model_dir / name).is_file():
                raise ModelLoadError(f"model file not found: {model_dir / name}")
        if verify:
            manifest.verify_files(model_dir)
        tokenizer = load_tokenizer(model_dir / TOKENIZER_FILE)
        session = build_session(model_dir / MODEL_FILE, threads=threads, optimization=optimization)
        return cls(session, tokenizer, manifest, batch_size=batch_size, model_dir=model_dir)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.manifest.labels

    def warmup(self) -> None:
        """Run one tiny batch so the first real text is not slow; checks the output shape."""
        logits = self._run([[*self._prefix, *self._suffix]])
        if logits.ndim != 2 or logits.shape[1] != len(self.labels):
            raise ModelLoadError(
                f"model output has shape {list(logits.shape)}, expected [batch, {len(self.labels)}]"
            )

    def predict_windows(self, text: str) -> WindowScores:
        """Classify ``text`` window by window (see the module docstring)."""
        total = len(text)
        bounded = without_surrogates(text[: self.max_chars])
        encoding = self.tokenizer.encode(bounded, add_special_tokens=False)
        ids = encoding.ids
        offsets = encoding.offsets
        n_tokens = len(ids)
        plan = plan_windows(
            n_tokens, self.content_len, self.manifest.stride, self.manifest.max_windows
        )
        covered_tokens = plan[-1][1]
        if covered_tokens < n_tokens:
            scanned = offsets[covered_tokens - 1][1] if covered_tokens else 0
        else:
            scanned = len(bounded)
        truncated = scanned < total

        rows = [[*self._prefix, *ids[a:b], *self._suffix] for a, b in plan]
        spans = tuple(
            (offsets[a][0], offsets[b - 1][1]) if b > a else (0, len(bounded)) for a, b in plan
        )
        logits = np.concatenate(
            [self._run(rows[i : i + self.batch_size]) for i in range(0, len(rows), self.batch_size)]
        )
        probs = softmax(logits, self.manifest.temperature)
        return WindowScores(
            probs=probs,
            spans=spans,
            truncated=truncated,
            scanned_chars=scanned,
            total_chars=total,
            n_tokens=n_tokens,
        )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        out = self.session.run([self.output_name], {n: feeds[n] for n in self.input_names})[0]
        return np.asarray(out, dtype=np.float32).reshape(len(rows), -1)


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """Replace lone surrogates (which cannot be encoded) by U+FFFD, keeping offsets."""
    if _SURROGATE_RE.search(text) is None:
        return text
    return _SURROGATE_RE.sub("\ufffd", text)


def load_tokenizer(path: str | Path) -> Any:
    """Load ``tokenizer.json`` with truncation and padding switched off (we window ourselves)."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelLoadError(f"tokenizers is not installed: {exc}") from exc
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"tokenizer file not found: {path}")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises a plain Exception
        raise ModelLoadError(f"cannot load tokenizer {path.name}: {_first_line(exc)}") from exc
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int], int]:
    """The ids the tokenizer's post-processor puts before and after the text, and [PAD]."""
    probe = tokenizer.encode("a", add_special_tokens=True)
    special = probe.special_tokens_mask
    plain = [i for i, s in enumerate(special) if not s]
    if plain:
        prefix = probe.ids[: plain[0]]
        suffix = probe.ids[plain[-1] + 1 :]
    else:
        prefix, suffix = list(probe.ids), []
    if not prefix and not suffix:
        cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        if cls_id is None or sep_id is None:
            raise ModelLoadError("tokenizer has no post-processor and no [CLS]/[SEP] tokens")
        prefix, suffix = [cls_id], [sep_id]
    pad_id = tokenizer.token_to_id("[PAD]")
    return list(prefix), list(suffix), 0 if pad_id is None else int(pad_id)


def thresholds_for(
    manifest: ModelManifest | None, defaults: Mapping[str, float]
) -> dict[str, float]:
    """Manifest thresholds where given, the policy's defaults elsewhere."""
    merged = dict(defaults)
    if manifest is not None:
        merged.update(manifest.thresholds)
    return merged
