"""The bundled organism: loading, pinned accuracy, training, ground-truth consistency.

The experiment switches that did not ship are tested in ``research/tests/``.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from sae_circuits_widget.organism import WEIGHTS_DIR, is_organism
from sae_circuits_widget.organism.data import STORIES_MIX, DataSource, Mix
from sae_circuits_widget.organism.model import load_native, new_tokenizer
from sae_circuits_widget.organism.train import HeadOutputNorms, TrainConfig, main, read_config, train
from sae_circuits_widget.tasks import TASK_NAMES, get_task

# Accuracy of the shipped organism on get_task(name, model, n=40, seed=123), as measured
# when it was shipped (top-1 on the answer; greater-than: probability on years above the
# start year). Pinned within TOLERANCE: a broken model, tokenizer or loader moves it.
MEASURED = {"ioi": 1.0, "greater_than": 0.943, "docstring": 1.0, "induction": 1.0}
TOLERANCE = 0.1


def tiny(tasks_steps: int, stories_steps: int = 0, head_l1: float = 0.01, **fields) -> TrainConfig:
    """A one-layer, two-head config for training tests (no accuracy probe)."""
    return TrainConfig.from_dict({"seed": 0, "n_layers": 1, "n_heads": 2, "d_model": 32, "batch": 16, "lr": 3e-3,
                                  "accuracy_every": 0, **fields,
                                  "tasks_phase": {"steps": tasks_steps, "warmup": 5, "head_l1": head_l1},
                                  "stories_phase": {"steps": stories_steps, "warmup": 5}})


def test_loads_offline_with_its_name(organism):
    assert is_organism(organism)
    conf = json.loads((WEIGHTS_DIR / "config.json").read_text())
    assert organism.cfg.n_layers == conf["n_layers"] and organism.cfg.n_heads == conf["n_heads"]
    assert organism.cfg.d_vocab == len(organism.tokenizer)
    assert organism.to_tokens(["When Mary"])[0, 0].item() == organism.tokenizer.bos_token_id


def test_shipped_files_small():
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir() if p.is_file())
    assert total < 10 * 1024 * 1024
    for name in ("model.safetensors", "config.json", "circuits.json", "MODEL_CARD.md", "tokenizer.json"):
        assert (WEIGHTS_DIR / name).exists(), name


@pytest.mark.parametrize("name", TASK_NAMES)
@torch.no_grad()
def test_pinned_accuracy(organism, name):
    task = get_task(name, organism, n=40, seed=123)
    hits = []
    for i, p in enumerate(task.positives):
        logits = organism(organism.to_tokens(p))[0, -1]
        if name == "greater_than":
            hits.append(float(logits.softmax(-1)[list(task.correct_ids[i])].sum()))
        else:
            hits.append(float(int(logits.argmax()) == task.correct_ids[i][0]))
    assert abs(np.mean(hits) - MEASURED[name]) <= TOLERANCE, (name, np.mean(hits))


@torch.no_grad()
def test_negatives_lose_the_behaviour(organism):
    task = get_task("ioi", organism, n=30, seed=7)
    pos = torch.stack([organism(organism.to_tokens(p))[0, -1] for p in task.positives])
    neg = torch.stack([organism(organism.to_tokens(p))[0, -1] for p in task.negatives])
    assert task.metric(pos).mean() > task.metric(neg).mean() + 1.0


def test_ground_truth_matches_geometry(organism, circuits):
    L, H = organism.cfg.n_layers, organism.cfg.n_heads
    assert circuits["n_layers"] == L and circuits["n_heads"] == H
    assert set(circuits["tasks"]) == set(TASK_NAMES)
    for name, entry in circuits["tasks"].items():
        heads = {tuple(h) for h in entry["heads"]}
        assert heads and all(0 <= layer < L and 0 <= h < H for layer, h in heads)
        assert np.asarray(entry["mean_ablation_effect"]).shape == (L, H)
        assert np.asarray(entry["resample_ablation_effect"]).shape == (L, H)
        for s, r in entry.get("edges", []):
            assert tuple(s) in heads and tuple(r) in heads and s[0] < r[0]
        assert entry["search"]["faithfulness"] >= circuits["threshold"]
        task = get_task(name, organism, n=2)
        assert task.ground_truth == frozenset(heads)


def test_few_training_steps_lower_the_loss():
    hist = train(tiny(80), progress=False).history["tasks_phase"]
    assert np.mean(hist[-8:]) < np.mean(hist[:8]) - 0.3


def _mean_head_norm(model, data) -> float:
    norms = HeadOutputNorms(model)
    model.train()
    ids, _, _ = data.batch(16)
    with torch.no_grad():
        model(ids)
    value = float(norms.penalty(ids != data.pad))
    norms.remove()
    return value


def test_head_output_penalty_shrinks_head_outputs():
    plain, _, tok, _ = train(tiny(30, head_l1=0.0), progress=False)
    sparse = train(tiny(30, head_l1=1.0), progress=False).model
    data = DataSource(tok, seed=5)
    assert _mean_head_norm(sparse, data) < 0.5 * _mean_head_norm(plain, data)


def test_the_second_phase_continues_the_first_without_the_penalty(tmp_path):
    both = train(tiny(6, 4), tmp_path / "both", progress=False)
    assert [len(h) for h in both.history.values()] == [6, 4]
    first = train(tiny(6), progress=False)
    assert both.history["tasks_phase"] == first.history["tasks_phase"]  # the same first phase
    a, b = both.model.state_dict(), first.model.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # ...then moved on
    saved, _, _ = load_native(tmp_path / "both")
    assert all(torch.equal(saved.state_dict()[k], a[k]) for k in a)
    record = json.loads((tmp_path / "both" / "config.json").read_text())["train"]
    assert TrainConfig.from_dict(record) == tiny(6, 4)
    assert record["stories_phase"]["mix"] == STORIES_MIX.shares() and record["stories_phase"]["head_l1"] == 0.0


def test_the_shipped_config_records_the_default_recipe():
    """config.json in the weights holds every TrainConfig field, at the values the model
    was trained with: the defaults (``research/check_shipped_recipe.py`` checks, bit for
    bit over the first steps of each phase, that they train what the shipped weights'
    trainer trained)."""
    conf = json.loads((WEIGHTS_DIR / "config.json").read_text())
    assert conf["train"] == TrainConfig().to_dict()
    assert set(conf["train"]) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert TrainConfig().seed == 1 and read_config(WEIGHTS_DIR / "config.json") == TrainConfig()
    shipped = TrainConfig()
    assert (conf["n_layers"], conf["n_heads"], conf["d_model"], conf["n_ctx"]) == (
        shipped.n_layers, shipped.n_heads, shipped.d_model, shipped.n_ctx)


def test_config_round_trips_and_rejects_what_it_does_not_know():
    config = TrainConfig.from_dict({"seed": 4, "tasks_phase": {"steps": 7}})
    assert config.tasks_phase.steps == 7 and config.tasks_phase.warmup == TrainConfig().tasks_phase.warmup
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="unknown field 'stepz' in the training config; fields: seed"):
        TrainConfig.from_dict({"stepz": 3})
    with pytest.raises(ValueError, match="unknown field 'l1' in tasks_phase"):
        TrainConfig.from_dict({"tasks_phase": {"l1": 0.1}})
    with pytest.raises(ValueError, match="unknown kind 'lists' in mix"):
        TrainConfig.from_dict({"tasks_phase": {"mix": {**STORIES_MIX.shares(), "lists": 0.1}}})
    with pytest.raises(ValueError, match="no share for stories"):
        TrainConfig.from_dict({"stories_phase": {"mix": {"ioi": 1.0, "greater_than": 0, "docstring": 0,
                                                         "induction": 0, "filler": 0}}})
    with pytest.raises(ValueError, match="d_model .* multiple of n_heads"):
        TrainConfig(n_heads=3)
    with pytest.raises(ValueError, match="steps must be a whole number >= 0"):
        TrainConfig.from_dict({"tasks_phase": {"steps": 2.5}})
    with pytest.raises(ValueError, match="lr must be a number above 0"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="mix shares are all 0"):
        Mix(ioi=0, greater_than=0, docstring=0, induction=0, filler=0, stories=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 2


def test_cli_reads_a_config_file_and_says_what_is_wrong(tmp_path, capsys):
    good = tmp_path / "recipe.json"
    good.write_text(json.dumps(tiny(2, 1).to_dict()))
    main(["--config", str(good), "--seed", "3", "--out", str(tmp_path / "m"), "--threads", "1"])
    record = json.loads((tmp_path / "m" / "config.json").read_text())["train"]
    assert TrainConfig.from_dict(record) == dataclasses.replace(tiny(2, 1), seed=3)
    cases = [({"seed": 1, "lr_peak": 0.1}, "unknown field 'lr_peak'"), ("{not json", "is not JSON")]
    for i, (content, message) in enumerate(cases):
        bad = tmp_path / f"bad{i}.json"
        bad.write_text(content if isinstance(content, str) else json.dumps(content))
        with pytest.raises(SystemExit):
            main(["--config", str(bad), "--out", str(tmp_path / "x")])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a folder that already holds a model is never overwritten
        main(["--config", str(good), "--out", str(tmp_path / "m")])
    assert "already holds a model" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_training_data_depends_only_on_the_seed():
    """Two fresh processes draw the same first batch (no hash- or dict-order leaks)."""
    import subprocess
    import sys

    code = ("from sae_circuits_widget.organism.data import DataSource;"
            "from sae_circuits_widget.organism.model import new_tokenizer;"
            "ids, mask, _ = DataSource(new_tokenizer(), seed=3).batch(32);"
            "print(ids.tolist(), mask.tolist())")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(s)}).stdout for s in (1, 2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("kind", DataSource.KINDS)
def test_every_training_kind_is_in_vocabulary_and_fits_the_context(kind):
    tok = new_tokenizer()
    data = DataSource(tok, seed=0)
    ids, mask, _ = data.encode([getattr(data, kind)() for _ in range(300)])
    assert int((ids == tok.unk_token_id).sum()) == 0
    assert ids.shape[1] <= 64
    assert float(mask.sum()) > 0


def test_property_checklist_flags_each_broken_property(circuits):
    import copy

    from sae_circuits_widget.organism.card import property_checks

    base = {what: ok for what, ok, _ in property_checks(circuits)}
    assert len(base) == 4 * 4 + 1
    broken = copy.deepcopy(circuits)
    broken["tasks"]["ioi"]["properties"]["fraction_of_heads"] = 0.6
    broken["tasks"]["docstring"]["behaviour"]["positives"]["top1"] = 0.5
    broken["tasks"]["induction"]["trivial_auc"]["layer_index_reverse"] = 0.95
    broken["tasks"]["ioi"]["trivial_auc"]["output_diff_norm_last"] = 0.99  # reported, not a property
    broken["jaccard_max_ioi_gt_doc"] = 0.9
    after = {what: ok for what, ok, _ in property_checks(broken)}
    assert not after["P3 ioi"] and not after["P1 docstring"] and not after["P5 induction"] and not after["P4"]
    unchanged = set(base) - {"P3 ioi", "P1 docstring", "P5 induction", "P4"}
    assert all(after[k] == base[k] for k in unchanged)


def test_each_loaded_folder_brings_its_own_circuits(tmp_path, circuits):
    """get_task reads circuits.json from the folder the organism was loaded from (held-out
    organisms trained elsewhere), the bundled one for the bundled weights."""
    import shutil

    from sae_circuits_widget.organism import load_organism, organism_circuits

    for path in WEIGHTS_DIR.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    edited = json.loads(json.dumps(circuits))
    edited["tasks"]["ioi"]["heads"] = [[2, 7]]
    (tmp_path / "circuits.json").write_text(json.dumps(edited))
    other, bundled = load_organism(directory=tmp_path), load_organism()
    assert organism_circuits(other)["tasks"]["ioi"]["heads"] == [[2, 7]]
    assert get_task("ioi", other, n=2).ground_truth == frozenset({(2, 7)})
    assert get_task("ioi", bundled, n=2).ground_truth == frozenset(map(tuple, circuits["tasks"]["ioi"]["heads"]))
    (tmp_path / "circuits.json").unlink()
    assert get_task("ioi", load_organism(directory=tmp_path), n=2).ground_truth is None
