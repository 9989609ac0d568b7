"""The organism's second ground truth: circuits found by patching from the matched negatives."""

from __future__ import annotations

import itertools

import pytest
import torch

from sae_circuits_widget import interventions as A
from sae_circuits_widget.organism import card
from sae_circuits_widget.organism import ground_truth as G
from sae_circuits_widget.tasks import TASK_NAMES, get_task
from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import tiny_model, toy_ioi_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MEAN_ABLATION_CIRCUITS = {
    "ioi": "0.5 1.2 1.4 1.5 1.6",
    "greater_than": "1.0 1.1 2.3 2.4",
    "docstring": "0.3 0.5 1.1 1.3 1.6",
    "induction": "0.3 1.1 1.3 1.6",
}
"""The mean-ablation circuits as shipped before the patching definition was added."""



def _heads(text: str) -> frozenset:
    return frozenset(tuple(int(x) for x in h.split(".")) for h in text.split())


def _patched_fraction(model, task, keeps) -> list[float]:
    """Faithfulness of each keep-set with every other head's z taken from the paired negative."""
    L, H = model.cfg.n_layers, model.cfg.n_heads
    masks = torch.ones(len(keeps), L, H, dtype=torch.bool)
    for m, keep in enumerate(keeps):
        for layer, h in keep:
            masks[m, layer, h] = False
    base = float(A.clean_metric(model, task).double().mean())
    return [v / base for v in A.metric_under_masks(model, task, masks, "resample").tolist()]


@torch.no_grad()
def test_patching_evaluator_takes_every_other_head_from_the_paired_negative():
    model = tiny_model()
    task = toy_ioi_task(model)
    ev = G.KeepSetEvaluator(model, task, "resample")
    (_, pos, neg, last), = A.pair_groups(model, task)
    _, cache = model.run_with_cache(neg, names_filter=lambda n: n.endswith("hook_z"))
    hooks = [(A.Z_HOOK.format(layer), (lambda z, hook, layer=layer: cache[A.Z_HOOK.format(layer)]))
             for layer in range(model.cfg.n_layers)]
    by_hand = float(task.metric(A.final_logits(model.run_with_hooks(pos, fwd_hooks=hooks), last)).double().mean())
    base = float(A.clean_metric(model, task).double().mean())
    every = frozenset((layer, h) for layer in range(2) for h in range(4))
    empty, full = ev([frozenset(), every])
    assert empty == pytest.approx(by_hand / base, rel=1e-5, abs=1e-6)
    assert full == pytest.approx(1.0, abs=1e-6)
    # the mean-ablation evaluator is still the package's faithfulness
    keep = {(0, 1), (1, 2)}
    assert G.KeepSetEvaluator(model, task)([frozenset(keep)])[0] == pytest.approx(
        A.faithfulness(model, task, keep), rel=1e-5)
    with pytest.raises(ValueError, match="kind"):
        G.KeepSetEvaluator(model, task, "zero")


def test_patching_search_meets_the_threshold_and_is_one_minimal():
    model = tiny_model(seed=1)
    task = toy_ioi_task(model)
    found = G.minimal_keep_set(model, task, kind="resample")
    S = frozenset(map(tuple, found["heads"]))
    keeps = [S] + [S - {h} for h in sorted(S)]
    fractions = _patched_fraction(model, task, keeps)
    assert found["faithfulness"] == pytest.approx(fractions[0], rel=1e-5)
    assert fractions[0] >= G.THRESHOLD
    assert all(f < G.THRESHOLD for f in fractions[1:]), dict(zip(map(str, sorted(S)), fractions[1:]))
    assert found["one_minimal"]
    # both greedy searches end 1-minimal: pruning stops only when every removal drops below
    for side in ("backward", "forward"):
        R = frozenset(map(tuple, found[side]["heads"]))
        assert max(_patched_fraction(model, task, [R - {h} for h in sorted(R)]), default=0) < G.THRESHOLD, side
    # with 8 heads every smaller set is checked: none keeps the behaviour
    heads = [(layer, h) for layer in range(2) for h in range(4)]
    smaller = [frozenset(c) for c in itertools.combinations(heads, len(S) - 1)]
    assert found["exhaustive_smaller"][-1]["checked"]
    assert max(_patched_fraction(model, task, smaller)) < G.THRESHOLD


def test_shared_prefix_ends_at_the_first_token_where_the_pair_differs():
    pos = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 4]])
    neg = torch.tensor([[1, 2, 9, 4], [1, 2, 3, 4]])
    assert G._shared_prefix(pos, neg).tolist() == [[True, True, False, False], [True] * 4]


def test_contrast_profile_of_a_head_that_computes_the_same_on_both_sides():
    model = tiny_model()
    task = toy_ioi_task(model)
    same = Task("same", positives=task.positives, negatives=task.positives,
                correct_ids=task.correct_ids, incorrect_ids=task.incorrect_ids)
    r = G.contrast_profile(model, same, (0, 1))
    assert r["patched_from_negative"] == pytest.approx(0.0, abs=1e-6)
    assert r["z_change_negative"] == 0.0 and r["attention_change_negative"] == 0.0
    assert abs(r["mean_ablated"]) > 1e-4
    assert r["mean_ablated_on_shared_prefix"] == pytest.approx(r["mean_ablated"], abs=1e-6)
    assert r["mean_ablated_after_shared_prefix"] == pytest.approx(0.0, abs=1e-6)
    # with the real negatives the head's output changes from the second subject on
    r2 = G.contrast_profile(model, task, (0, 1))
    assert r2["z_change_negative"] > 0 and abs(r2["patched_from_negative"]) > 1e-6


def test_docstring_head_0_3_matters_only_under_mean_ablation(organism):
    task = get_task("docstring", organism, n=8, seed=1000)
    r = G.contrast_profile(organism, task, (0, 3))
    assert r["mean_ablated"] < -5                      # the answer collapses without it
    assert abs(r["patched_from_negative"]) < 0.05      # the negatives leave it as it is
    assert r["mean_ablated_on_shared_prefix"] < -5     # its work is on the unchanged signature
    assert abs(r["mean_ablated_after_shared_prefix"]) < 0.05
    assert r["from_another_pairs_positive"] < -5       # prompt-specific, yet not contrastive


def test_get_task_has_both_ground_truths_on_the_organism(organism, circuits):
    for name in TASK_NAMES:
        task = get_task(name, organism, n=2)
        entry = circuits["tasks"][name]
        assert set(task.ground_truths) == {"mean_ablation", "patching"}
        assert task.ground_truths["mean_ablation"] == task.ground_truth
        assert task.ground_truths["patching"] == frozenset(map(tuple, entry["patching"]["heads"]))
        assert set(task.edge_ground_truths) == {"mean_ablation", "patching"}
        assert task.edge_ground_truths["patching"] == frozenset(
            (tuple(a), tuple(b)) for a, b in entry["patching"]["edges"])
        assert task.edge_ground_truths["mean_ablation"] == (task.edge_ground_truth or frozenset())
    plain = get_task("ioi", tiny_model(), n=2)
    assert plain.ground_truths is None and plain.edge_ground_truths is None


def test_mean_ablation_circuits_are_unchanged(circuits):
    for name, heads in MEAN_ABLATION_CIRCUITS.items():
        assert frozenset(map(tuple, circuits["tasks"][name]["heads"])) == _heads(heads), name


def test_shipped_patching_circuits_keep_the_behaviour_and_are_one_minimal(organism, circuits):
    for name in TASK_NAMES:
        pt = circuits["tasks"][name]["patching"]
        S = frozenset(map(tuple, pt["heads"]))
        assert pt["search"]["one_minimal"] and pt["search"]["faithfulness"] >= circuits["threshold"], name
        task = get_task(name, organism, n=circuits["n_prompts"], seed=circuits["seed"])
        fractions = _patched_fraction(organism, task, [S] + [S - {h} for h in sorted(S)])
        assert fractions[0] == pytest.approx(pt["search"]["faithfulness"], rel=1e-4), name
        assert fractions[0] >= G.THRESHOLD and max(fractions[1:]) < G.THRESHOLD, name


def test_card_keeps_hand_written_sections_and_drops_generated_ones():
    old = "\n".join([
        "# card", "## Ground-truth definition", "old text",
        "## Numbers (as printed by the ground-truth script)", "```", "## not a heading", "```",
        "## Notes", "kept 1", "```", "## Ground-truth definition", "```",
        "## More notes", "kept 2",
    ])
    kept = card.hand_written_sections(old)
    assert kept.startswith("## Notes") and "kept 1" in kept and kept.endswith("kept 2")
    assert "old text" not in kept and "## not a heading" not in kept


def test_card_only_rewrites_the_shipped_card_unchanged(tmp_path, capsys):
    """The shipped card is what circuits.json and config.json generate, plus its
    hand-written sections: ``--card-only`` rewrites it byte for byte."""
    import shutil

    from sae_circuits_widget.organism import WEIGHTS_DIR

    for name in ("config.json", "circuits.json", "MODEL_CARD.md"):
        shutil.copy(WEIGHTS_DIR / name, tmp_path / name)
    G.main(["--model", str(tmp_path), "--card-only"])
    assert (tmp_path / "MODEL_CARD.md").read_text() == (WEIGHTS_DIR / "MODEL_CARD.md").read_text()
    (tmp_path / "circuits.json").unlink()
    with pytest.raises(SystemExit):
        G.main(["--model", str(tmp_path), "--card-only"])
    assert "no circuits.json" in capsys.readouterr().err
