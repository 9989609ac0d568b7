"""load_model on what users have: a save_pretrained folder, a loaded Hugging Face model,
a TransformerBridge; and the errors for what it cannot take. All offline: the models are
randomly initialised in-process (GPT-2 small's real shapes included)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from sae_circuits_widget import discover
from sae_circuits_widget.engine import model as model_mod
from sae_circuits_widget.engine.model import check_hookable, load_model, n_heads_total
from sae_circuits_widget.errors import (
    ModelLoadError,
    UnsupportedArchitectureError,
    UnsupportedModelError,
)
from sae_circuits_widget.organism.tokenizer import word_tokenizer
from sae_circuits_widget.testing import TINY_WORDS, toy_ioi_task

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    # random weights: the SAE may find no code unique to positives, which discover warns about
    pytest.mark.filterwarnings("ignore:no head has a code unique:UserWarning"),
]

GPT2_VOCAB = 50257


def _padded_tokenizer(size: int) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over the toy IOI words, padded with unused ids to ``size``."""
    n_special = 4
    fillers = [f"<unused{i}>" for i in range(size - n_special - len(TINY_WORDS))]
    tok = word_tokenizer([*TINY_WORDS, *fillers])
    assert len(tok) == size
    return tok


def _bare_tokenizer() -> PreTrainedTokenizerFast:
    """A tokenizer built in memory with no ``name_or_path`` (TransformerLens 4.3 raises
    ``KeyError: 'name_or_path'`` on it when it is handed straight to a boot function)."""
    vocab = {w: i for i, w in enumerate(["<bos>", "<eos>", "<unk>", "<pad>", *TINY_WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>", pad_token="<pad>"
    )
    assert "name_or_path" not in tok.init_kwargs
    return tok


def _save(folder: Path, hf_model, tokenizer=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    hf_model.save_pretrained(folder)
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder


def _small_gpt2(vocab: int, n_layer: int = 2, n_head: int = 4):
    config = transformers.GPT2Config(
        vocab_size=vocab, n_embd=32, n_layer=n_layer, n_head=n_head, n_positions=32,
        initializer_range=0.2,  # wider than the default 0.02: random heads differ more
    )
    return transformers.GPT2LMHeadModel(config).eval()


@pytest.fixture
def no_hub(monkeypatch):
    """Fail the test if load_model looks at the hub at all."""

    def probe(*a, **k):
        raise AssertionError("a local model must not be looked up on the hub")

    monkeypatch.setattr(model_mod, "hub_reachable", probe)
    monkeypatch.setattr(model_mod, "_check_hub_available", probe)


def _discover_toy_ioi(model, n_features=16):
    task = toy_ioi_task()
    return discover(
        model, positives=task.positives, negatives=task.negatives, n_features=n_features, seed=0
    )


# ------------------------------------------------------------------ folders, end to end


def test_gpt2_small_folder_end_to_end(tmp_path, no_hub):
    """GPT-2 small's configuration (12 x 12 heads, d_model 768, vocabulary 50257, context
    1024), random weights, saved with save_pretrained and loaded offline by folder."""
    t0 = time.perf_counter()
    tokenizer = _padded_tokenizer(GPT2_VOCAB)
    config = transformers.GPT2Config()  # the defaults are GPT-2 small's
    assert (config.n_layer, config.n_head, config.n_embd, config.vocab_size) == (12, 12, 768, GPT2_VOCAB)
    folder = _save(tmp_path / "gpt2-small-random", transformers.GPT2LMHeadModel(config), tokenizer)

    model = load_model(folder, device="cpu")
    assert type(model).__name__ == "TransformerBridge"
    assert (model.cfg.n_layers, model.cfg.n_heads, model.cfg.d_model) == (12, 12, 768)
    assert model.cfg.d_vocab == GPT2_VOCAB
    assert n_heads_total(model) == 144
    assert all(f"blocks.{layer}.attn.hook_z" in model.hook_dict for layer in range(12))

    result = _discover_toy_ioi(model)
    assert result.node_scores.shape == (12, 12)
    assert result.codes.shape[1] == 144
    assert result.edge_scores.shape == (144, 144)
    assert time.perf_counter() - t0 < 120


def test_pythia_shaped_folder_end_to_end(tmp_path, no_hub):
    """GPTNeoXForCausalLM (Pythia's architecture: rotary, parallel attention and MLP)."""
    tokenizer = word_tokenizer(TINY_WORDS)
    config = transformers.GPTNeoXConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=64, rotary_pct=0.25,
        initializer_range=0.2,  # with 0.02 a model this small gives near-identical heads
    )
    folder = _save(tmp_path / "pythia-tiny", transformers.GPTNeoXForCausalLM(config), tokenizer)

    model = load_model(str(folder), device="cpu")
    assert model.cfg.positional_embedding_type == "rotary"
    assert (model.cfg.n_layers, model.cfg.n_heads) == (2, 4)
    result = _discover_toy_ioi(model)
    assert result.node_scores.shape == (2, 4)


def test_relative_folder_wins_over_a_hub_name(tmp_path, monkeypatch, no_hub):
    tokenizer = word_tokenizer(TINY_WORDS)
    _save(tmp_path / "my-gpt2", _small_gpt2(len(tokenizer)), tokenizer)
    monkeypatch.chdir(tmp_path)
    model = load_model("my-gpt2", device="cpu")
    assert (model.cfg.n_layers, model.cfg.n_heads) == (2, 4)


def test_folder_with_a_tokenizer_given_separately(tmp_path, no_hub):
    tokenizer = _bare_tokenizer()
    folder = _save(tmp_path / "weights-only", _small_gpt2(len(tokenizer)))
    model = load_model(folder, device="cpu", tokenizer=tokenizer)
    assert model.to_tokens("Mary John", prepend_bos=False).tolist() == [tokenizer.encode("Mary John")]


# ------------------------------------------------------------------ in-memory models


def test_loaded_hf_model_with_in_memory_tokenizer(no_hub):
    tokenizer = _bare_tokenizer()
    hf_model = _small_gpt2(len(tokenizer))
    ids = torch.tensor([tokenizer.encode("When Mary and John went to the store")])
    with torch.no_grad():
        expected = hf_model(ids).logits

    model = load_model(hf_model, tokenizer=tokenizer, device="cpu")
    assert type(model).__name__ == "TransformerBridge"
    with torch.no_grad():
        got = model(ids)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    result = _discover_toy_ioi(model, n_features=8)
    assert result.node_scores.shape == (2, 4)


def test_loaded_hf_model_needs_its_tokenizer():
    hf_model = _small_gpt2(40)
    with pytest.raises(ModelLoadError, match="needs its tokenizer.*tokenizer="):
        load_model(hf_model)
    with pytest.raises(TypeError, match="Hugging Face tokenizer"):
        load_model(hf_model, tokenizer="gpt2")
    with pytest.raises(ValueError, match="from_pretrained"):
        load_model(hf_model, tokenizer=_bare_tokenizer(), device_map="auto")


def test_bridge_is_checked_and_returned_as_is(tiny_model):
    assert load_model(tiny_model) is tiny_model
    with pytest.raises(TypeError, match="as it is"):
        load_model(tiny_model, device="cpu")


def test_other_objects_are_refused():
    with pytest.raises(TypeError, match="name string, a folder path, a Hugging Face PreTrainedModel"):
        load_model(torch.nn.Linear(2, 2))


# ------------------------------------------------------------------ errors


def test_missing_folder_and_file_paths(tmp_path):
    with pytest.raises(ModelLoadError, match="no such folder"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(ModelLoadError, match="no such folder"):
        load_model("./nowhere-at-all")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="is a file; give the folder"):
        load_model(weights)


def test_folder_without_weights_config_or_tokenizer(tmp_path, no_hub):
    tokenizer = word_tokenizer(TINY_WORDS)
    hf_model = _small_gpt2(len(tokenizer))

    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    hf_model.config.save_pretrained(no_weights)
    tokenizer.save_pretrained(no_weights)
    with pytest.raises(ModelLoadError, match="no weights.*save_pretrained"):
        load_model(no_weights)

    no_config = _save(tmp_path / "no-config", hf_model, tokenizer)
    (no_config / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model(no_config)

    no_tokenizer = _save(tmp_path / "no-tokenizer", hf_model)
    with pytest.raises(ModelLoadError, match="no tokenizer files.*tokenizer.save_pretrained"):
        load_model(no_tokenizer)


def test_unsupported_architecture(tmp_path, no_hub):
    """BioGPT: in transformers, not in TransformerLens 4.x; refused before any weights load."""
    tokenizer = word_tokenizer(TINY_WORDS)
    config = transformers.BioGptConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32,
    )
    hf_model = transformers.BioGptForCausalLM(config)
    folder = _save(tmp_path / "biogpt", hf_model, tokenizer)
    with pytest.raises(UnsupportedArchitectureError, match="BioGptForCausalLM.*cannot wrap") as info:
        load_model(folder)
    assert info.value.architectures == ["BioGptForCausalLM"]
    with pytest.raises(UnsupportedArchitectureError, match="SUPPORTED_ARCHITECTURES"):
        load_model(hf_model, tokenizer=tokenizer)

    unknown = tmp_path / "unknown-type"
    unknown.mkdir()
    (unknown / "config.json").write_text('{"model_type": "no-such-type"}')
    (unknown / "model.safetensors").write_bytes(b"")
    tokenizer.save_pretrained(unknown)
    with pytest.raises(UnsupportedArchitectureError, match="trust_remote_code"):
        load_model(unknown)


def test_model_without_attention_heads(tmp_path, no_hub):
    """Mamba: TransformerLens wraps it, but it has no attention heads to hook."""
    tokenizer = word_tokenizer(TINY_WORDS)
    config = transformers.MambaConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, state_size=4
    )
    folder = _save(tmp_path / "mamba", transformers.MambaForCausalLM(config), tokenizer)
    with pytest.raises(UnsupportedModelError, match="hook_z.*Mamba cannot be used"):
        load_model(folder, device="cpu")


def test_check_hookable_looks_at_every_layer(tiny_model):
    check_hookable(tiny_model)
    hooks = dict(tiny_model.hook_dict)
    del hooks["blocks.1.attn.hook_z"]

    class Partial:
        cfg = tiny_model.cfg
        hook_dict = hooks
        W_O = tiny_model.W_O

    with pytest.raises(UnsupportedModelError, match="blocks.1.attn.hook_z.*1 of 2 layers"):
        check_hookable(Partial())
