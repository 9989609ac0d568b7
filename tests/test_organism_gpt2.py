"""The GPT-2-architecture organism's training, saving and loading path.

The tests train a one-layer GPT-2 for a few steps (seconds); the bundled
``organism-gpt2``'s files, name and card are checked below, on the shipped weights.
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers

from sae_circuits_widget import load_model
from sae_circuits_widget.organism.mlps import has_mlps, mlp_ablation_effects
from sae_circuits_widget.organism.model import (
    GPT2_ORGANISM_NAME,
    GPT2_WEIGHTS_DIR,
    ORGANISM_FILE,
    is_organism,
    load_organism,
)
from sae_circuits_widget.organism.train import (
    GPT2_RECIPE,
    RECIPES,
    HeadOutputNorms,
    MlpOutputNorms,
    TrainConfig,
    main,
    read_config,
    train,
)
from sae_circuits_widget.tasks import get_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_gpt2(n_heads: int = 2) -> TrainConfig:
    return TrainConfig.from_dict({"architecture": "gpt2", "d_mlp": 32, "n_layers": 1, "n_heads": n_heads,
                                  "d_model": 16, "batch": 4, "accuracy_every": 0,
                                  "tasks_phase": {"steps": 2}, "stories_phase": {"steps": 1}})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpt2") / "model"
    return train(tiny_gpt2(), out, progress=False), out


def test_config_checks_the_architecture():
    with pytest.raises(ValueError, match="architecture must be one of attn-only, gpt2"):
        TrainConfig(architecture="llama")
    with pytest.raises(ValueError, match="d_mlp is for architecture 'gpt2'"):
        TrainConfig(d_mlp=64)
    with pytest.raises(ValueError, match="tie_embeddings is for architecture 'gpt2'"):
        TrainConfig(tie_embeddings=False)
    assert RECIPES["attn-only"] == TrainConfig() and RECIPES["gpt2"].architecture == "gpt2"
    assert GPT2_RECIPE.tasks_phase.head_l1 == TrainConfig().tasks_phase.head_l1


def test_gpt2_is_saved_as_hugging_face_files(trained):
    organism, out = trained
    assert isinstance(organism.model, transformers.GPT2LMHeadModel)
    for name in ("model.safetensors", "config.json", "tokenizer.json", ORGANISM_FILE):
        assert (out / name).is_file(), name
    hf_config = json.loads((out / "config.json").read_text())
    assert hf_config["model_type"] == "gpt2" and hf_config["n_inner"] == 32
    assert hf_config["initializer_range"] == pytest.approx(0.8 / 16 ** 0.5)  # the attention-only organism's scale
    record = json.loads((out / ORGANISM_FILE).read_text())
    assert record["model_name"] == GPT2_ORGANISM_NAME and record["d_mlp"] == 32
    assert read_config(out / ORGANISM_FILE) == tiny_gpt2()
    assert [len(v) for v in organism.history.values()] == [2, 1]


def test_gpt2_organism_loads_through_boot_transformers(trained):
    organism, out = trained
    model = load_organism(directory=out)
    assert type(model).__name__ == "TransformerBridge" and is_organism(model)
    assert model.cfg.model_name == GPT2_ORGANISM_NAME and not model.cfg.attn_only
    assert has_mlps(model)
    tokens = torch.tensor([[1, 5, 9, 30, 7]])
    with torch.no_grad():
        ours = model(tokens)
        theirs = organism.model(input_ids=tokens).logits
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    again = load_model(out)  # its folder by path: the organism, with its name
    assert again.cfg.model_name == GPT2_ORGANISM_NAME
    plain = load_model(out, dtype=torch.float32)  # with options: a save_pretrained folder like any other
    assert plain.cfg.n_heads == 2 and plain.cfg.model_name != GPT2_ORGANISM_NAME


def test_separate_embeddings_are_saved_and_loaded(tmp_path):
    """``tie_embeddings=False`` trains a separate unembedding; the folder records it and
    the bridge's logits use it."""
    config = TrainConfig.from_dict({**tiny_gpt2().to_dict(), "tie_embeddings": False})
    organism = train(config, tmp_path / "m", progress=False)
    hf = organism.model
    assert hf.lm_head.weight.data_ptr() != hf.transformer.wte.weight.data_ptr()
    assert not torch.equal(hf.lm_head.weight, hf.transformer.wte.weight)
    assert json.loads((tmp_path / "m" / ORGANISM_FILE).read_text())["tie_embeddings"] is False
    model = load_organism(directory=tmp_path / "m")
    tokens = torch.tensor([[1, 5, 9, 30]])
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), hf(input_ids=tokens).logits, atol=1e-4, rtol=1e-4)


def test_head_penalty_reads_the_gpt2_output_projection(trained):
    """With one head, the head's output norm is the norm of the projection minus its bias."""
    organism = train(tiny_gpt2(n_heads=1), progress=False)
    model = organism.model
    model.train()
    norms = HeadOutputNorms(model)
    seen = {}
    proj = model.transformer.h[0].attn.c_proj
    handle = proj.register_forward_hook(lambda m, args, out: seen.setdefault("out", out - m.bias))
    try:
        model(input_ids=torch.tensor([[1, 5, 9, 30]]), use_cache=False)
    finally:
        handle.remove()
    assert len(norms.norms) == 1
    torch.testing.assert_close(norms.norms[0][..., 0], seen["out"].norm(dim=-1))
    penalty = norms.penalty(torch.ones(1, 4, dtype=torch.bool))
    torch.testing.assert_close(penalty, seen["out"].norm(dim=-1).mean())
    norms.remove()


def test_mlp_penalty_is_the_norm_of_each_mlp_output():
    """The MLP-output penalty: the sum over MLPs of ``||mlp_out||``, averaged over the
    masked tokens; nothing is recorded in eval mode, and a model without MLPs refuses it."""
    model = train(tiny_gpt2(), progress=False).model
    model.train()
    norms = MlpOutputNorms(model)
    seen = {}
    handle = model.transformer.h[0].mlp.register_forward_hook(lambda m, args, out: seen.setdefault("out", out))
    try:
        model(input_ids=torch.tensor([[1, 5, 9, 30]]), use_cache=False)
    finally:
        handle.remove()
    mask = torch.tensor([[True, True, False, True]])
    expected = seen["out"].norm(dim=-1)[mask].mean()
    torch.testing.assert_close(norms.penalty(mask), expected)
    model.eval()
    model(input_ids=torch.tensor([[1, 5]]), use_cache=False)
    assert norms.norms == []
    norms.remove()
    with pytest.raises(ValueError, match="needs a model with MLPs"):
        MlpOutputNorms(train(TrainConfig.from_dict({"n_layers": 1, "n_heads": 2, "d_model": 16, "batch": 4,
                                                    "tasks_phase": {"steps": 0}, "stories_phase": {"steps": 0}}),
                             progress=False).model)


def test_mlp_penalty_enters_the_training_loss():
    """A phase with ``mlp_l1`` trains differently from the same phase without it, from the
    same seed and data; an attention-only config refuses the field."""
    base = tiny_gpt2()
    penalised = TrainConfig.from_dict({**base.to_dict(), "tasks_phase": {"steps": 2, "mlp_l1": 1.0}})
    assert penalised.tasks_phase.mlp_l1 == 1.0 and base.tasks_phase.mlp_l1 == 0.0
    plain, heavy = (train(c, progress=False).history["tasks_phase"] for c in (base, penalised))
    assert heavy[0] > plain[0]  # the same first batch and weights, plus a positive term
    with pytest.raises(ValueError, match="mlp_l1 is for architecture 'gpt2'"):
        TrainConfig.from_dict({"tasks_phase": {"mlp_l1": 0.01}})


def test_mlps_switched_off_for_the_first_steps_of_a_phase():
    """``mlp_off_steps``: the MLPs' output projections start at zero and no MLP parameter
    moves during those steps (the attention does); after them the MLPs train. An
    attention-only config refuses the field."""
    def run(steps: int) -> torch.nn.Module:
        config = TrainConfig.from_dict({**tiny_gpt2().to_dict(), "accuracy_every": 0,
                                        "tasks_phase": {"steps": steps, "mlp_off_steps": 3},
                                        "stories_phase": {"steps": 0}})
        return train(config, progress=False).model

    start, held, after = run(0), run(3), run(5)
    mlp = lambda m: m.transformer.h[0].mlp  # noqa: E731
    attn = lambda m: m.transformer.h[0].attn  # noqa: E731
    assert float(mlp(held).c_proj.weight.abs().sum()) == 0.0 == float(mlp(held).c_proj.bias.abs().sum())
    torch.testing.assert_close(mlp(held).c_fc.weight, mlp(start).c_fc.weight, rtol=0, atol=0)
    assert not torch.equal(attn(held).c_attn.weight, attn(start).c_attn.weight)
    assert float(mlp(after).c_proj.weight.abs().sum()) > 0.0
    with pytest.raises(ValueError, match="mlp_off_steps is for architecture 'gpt2'"):
        TrainConfig.from_dict({"tasks_phase": {"mlp_off_steps": 10}})


def test_mlp_evidence(trained, tiny_model):
    organism, out = trained
    model = load_organism(directory=out)
    task = get_task("induction", model, n=4, seed=0)
    effects = mlp_ablation_effects(model, task)
    assert set(effects) == {"mean", "resample"} and len(effects["mean"]) == 1
    assert all(isinstance(v, float) for v in effects["mean"] + effects["resample"])
    with pytest.raises(ValueError, match="no MLPs"):
        mlp_ablation_effects(tiny_model, task)


def test_cli_takes_an_architecture_or_a_config(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--architecture", "gpt2", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "m")])
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--architecture", "bert", "--out", str(tmp_path / "m")])
    assert "invalid choice" in capsys.readouterr().err


def test_the_package_model_files_stay_under_15_mb():
    from sae_circuits_widget.organism import WEIGHTS_DIR

    total = sum(p.stat().st_size for d in (WEIGHTS_DIR, GPT2_WEIGHTS_DIR) for p in d.iterdir() if p.is_file())
    assert total < 15 * 1024 * 1024
    for name in ("model.safetensors", "config.json", "tokenizer.json", ORGANISM_FILE, "circuits.json", "MODEL_CARD.md"):
        assert (GPT2_WEIGHTS_DIR / name).is_file(), name


def test_the_gpt2_card_is_what_the_script_prints(tmp_path):
    """--card-only rewrites the shipped card byte for byte (the numbers and the checklist
    are generated from circuits.json; the status section is hand-written and kept)."""
    import shutil

    from sae_circuits_widget.organism import ground_truth

    for name in (ORGANISM_FILE, "config.json", "circuits.json", "MODEL_CARD.md"):
        shutil.copy(GPT2_WEIGHTS_DIR / name, tmp_path / name)
    ground_truth.main(["--model", str(tmp_path), "--card-only"])
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert card == (GPT2_WEIGHTS_DIR / "MODEL_CARD.md").read_text()
    assert "MLPs of width 256" in card and "--architecture gpt2 --seed 1" in card
    assert "PASS  P1 ioi" in card  # the checklist, failures included, as printed
    circuits = json.loads((GPT2_WEIGHTS_DIR / "circuits.json").read_text())
    assert all(len(t["mlp_ablation_effect"]["mean"]) == 3 for t in circuits["tasks"].values())


def test_load_model_names_the_gpt2_organism():
    model = load_model("organism-gpt2")
    assert model.cfg.model_name == GPT2_ORGANISM_NAME and model.cfg.n_layers == GPT2_RECIPE.n_layers
    task = get_task("ioi", model, n=4, seed=0)
    assert task.ground_truth, "circuits.json gives every task a ground truth"
    with pytest.raises(TypeError, match="no extra options"):
        load_model("organism-gpt2", dtype="float16")
