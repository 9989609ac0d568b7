"""Model loading: bundled model, name resolution, offline fail-fast, head geometry."""

from __future__ import annotations

import time
import types

import pytest
import torch

from sae_circuits_widget.engine import model as model_mod
from sae_circuits_widget.engine.model import (
    check_hookable,
    load_model,
    n_heads_total,
    resolve_model_name,
)
from sae_circuits_widget.errors import ModelLoadError, OfflineError, UnsupportedModelError
from sae_circuits_widget.heads import head_at, head_index, head_label, parse_head


def test_no_name_gives_the_bundled_organism():
    from sae_circuits_widget.organism import is_organism

    t = time.perf_counter()
    model = load_model()
    assert is_organism(model)
    assert time.perf_counter() - t < 10  # "well under a second" when warm; generous on a busy CI box
    check_hookable(model)


def test_aliases_resolve():
    assert resolve_model_name("attn-only-4l") == "NeelNanda/Attn_Only_4L512W_C4_Code"
    assert resolve_model_name("GPT2-small") == "gpt2"
    assert resolve_model_name("EleutherAI/pythia-70m") == "EleutherAI/pythia-70m"
    assert resolve_model_name("someone/new-model") == "someone/new-model"


def test_unknown_name_is_a_clear_error_with_suggestions():
    with pytest.raises(ModelLoadError, match="unknown model name 'gpt-2'.*gpt2"):
        load_model("gpt-2")
    with pytest.raises(ModelLoadError, match="bundled model"):
        load_model("not a model")
    with pytest.raises(TypeError, match="string"):
        load_model(3)


def test_pretrained_name_offline_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(model_mod, "_in_local_cache", lambda repo: False)
    t = time.perf_counter()
    with pytest.raises(OfflineError, match="offline.*load_model\\(\\) with no name"):
        load_model("gpt2")
    assert time.perf_counter() - t < 5


def test_unreachable_hub_fails_fast(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(model_mod, "_in_local_cache", lambda repo: False)
    monkeypatch.setattr(model_mod, "hub_reachable", lambda timeout=1.5: False)
    with pytest.raises(OfflineError, match="cannot be reached"):
        load_model("attn-only-4l")
    assert issubclass(OfflineError, ValueError)


def test_hub_probe_has_a_short_timeout(monkeypatch):
    from huggingface_hub import constants

    for endpoint in ("http://no-such-host.invalid", "http://127.0.0.1:9"):
        monkeypatch.setattr(constants, "ENDPOINT", endpoint)
        t = time.perf_counter()
        assert model_mod.hub_reachable(timeout=0.5) is False
        assert time.perf_counter() - t < 3


def test_load_errors_are_wrapped(monkeypatch):
    monkeypatch.setattr(model_mod, "_check_hub_available", lambda official, asked: None)
    from transformer_lens.model_bridge import TransformerBridge

    def boom(*a, **k):
        raise OSError("connection reset\n  deep library detail")

    monkeypatch.setattr(TransformerBridge, "boot_transformers", staticmethod(boom))
    with pytest.raises(ModelLoadError, match="could not load 'gpt2'.*connection reset") as info:
        load_model("gpt2")
    assert "deep library detail" not in str(info.value)


def test_device_and_device_map_conflict(monkeypatch):
    monkeypatch.setattr(model_mod, "_check_hub_available", lambda official, asked: None)
    with pytest.raises(ValueError, match="device_map"):
        load_model("gpt2", device="cpu", device_map="auto")


def test_models_without_hookable_heads_are_refused():
    with pytest.raises(UnsupportedModelError, match="no attention heads"):
        check_hookable(torch.nn.Linear(3, 3))
    fake = types.SimpleNamespace(cfg=types.SimpleNamespace(n_layers=2, n_heads=0))
    with pytest.raises(UnsupportedModelError, match="n_heads=0"):
        check_hookable(fake)
    fake = types.SimpleNamespace(cfg=types.SimpleNamespace(n_layers=2, n_heads=4), hook_dict={})
    with pytest.raises(UnsupportedModelError, match="hook_z"):
        check_hookable(fake)


def test_head_geometry(tiny_model):
    assert n_heads_total(tiny_model) == 8
    assert head_index((1, 2), 4) == 6
    assert head_at(6, 4) == (1, 2)
    assert head_label((1, 2)) == "L1H2"
    with pytest.raises(ValueError, match="does not exist"):
        parse_head("L2H0", n_layers=2, n_heads=4)
    assert parse_head("1.2") == parse_head("L1.H2") == parse_head((1, 2)) == (1, 2)
    with pytest.raises(ValueError, match="cannot read"):
        parse_head("head one")
