"""CPR and CMD (MIB's faithfulness areas) and their place in the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Optional

import numpy as np
import pytest
import torch

from sae_circuits_widget import interventions as ablation
from sae_circuits_widget.interventions.mib_faithfulness import (
    MIB_FRACTIONS,
    cmd,
    cpr,
    faithfulness_curve,
    faithfulness_curves,
    size_grid,
    tie_blocks,
)
from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import tiny_model as make_tiny
from sae_circuits_widget.testing import toy_ioi_task, zero_head_output

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------- areas


def test_perfect_curve_has_cmd_zero_and_cpr_one():
    x = np.linspace(0, 1, 11)
    assert cmd(x, np.ones(11)) == pytest.approx(0.0, abs=1e-12)
    assert cpr(x, np.ones(11)) == pytest.approx(1.0)
    assert cpr(x, np.zeros(11)) == pytest.approx(0.0) and cmd(x, np.zeros(11)) == pytest.approx(1.0)


def test_hand_computed_areas_with_overshoot():
    x = [0.0, 0.25, 0.5, 1.0]
    f = [0.0, 0.5, 1.2, 1.0]
    # trapezoids: .25*(0+.5)/2 + .25*(.5+1.2)/2 + .5*(1.2+1)/2
    assert cpr(x, f) == pytest.approx(0.0625 + 0.2125 + 0.55)
    # |1 - f| = 1, .5, .2, 0 at the points (absolute value, so the overshoot costs)
    assert cmd(x, f) == pytest.approx(0.1875 + 0.0875 + 0.05)
    # MIB's axis is not rescaled: the same values over MIB's fractions
    assert cpr(list(MIB_FRACTIONS[-2:]), [1.0, 1.0]) == pytest.approx(0.5)


def test_area_inputs_are_checked():
    with pytest.raises(ValueError, match="non-decreasing"):
        cpr([0.0, 1.0, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="same length"):
        cmd([0.0, 1.0], [0.0])
    with pytest.raises(TypeError):
        cpr([0.0, 1.0])


def test_size_grids():
    ks, xs = size_grid(24, "all")
    assert ks.tolist() == list(range(25)) and xs[-1] == 1.0 and xs[12] == 0.5
    ks, xs = size_grid(24, "mib")
    # int(fraction * 24) as MIB does: the small fractions all round to no head
    assert ks.tolist() == [0, 0, 0, 0, 0, 1, 2, 4, 12, 24] and xs.tolist() == list(MIB_FRACTIONS)
    assert size_grid(10, [0.0, 0.1, 0.3, 1.0])[0].tolist() == [0, 1, 3, 10]
    with pytest.raises(ValueError):
        size_grid(10, "some")
    with pytest.raises(ValueError):
        size_grid(10, [0.5, 0.2])


def test_tie_blocks_group_equal_scores_best_first():
    s = np.array([[0.0, 3.0, 0.0], [1.0, 3.0, 0.0]])
    assert [b.tolist() for b in tie_blocks(s)] == [[1, 4], [3], [0, 2, 5]]
    with pytest.raises(ValueError, match="NaN"):
        tie_blocks(np.array([[np.nan, 1.0]]))


# ----------------------------------------------------------------------------- curves on the tiny model


@pytest.fixture(scope="module")
def tiny():
    model = make_tiny()
    return model, toy_ioi_task(model)


def test_curve_ends_and_normalisation(tiny):
    model, task = tiny
    s = np.random.default_rng(0).normal(size=(2, 4))
    c = faithfulness_curve(model, task, s)
    assert c.sizes.tolist() == list(range(9))
    assert c.faithfulness[0] == pytest.approx(0.0, abs=1e-9)
    assert c.faithfulness[-1] == pytest.approx(1.0, abs=1e-5)
    # m(empty): every head's z from the paired negative
    every = torch.ones(1, 2, 4, dtype=torch.bool)
    m_empty = float(ablation.metric_under_masks(model, task, every, "resample")[0])
    assert c.m_empty == pytest.approx(m_empty, rel=1e-5)
    assert c.m_full == pytest.approx(float(ablation.clean_metric(model, task).mean()), rel=1e-5)
    # an interior point by hand: keep the top 3 heads, patch the rest
    top3 = ablation.top_k_heads(s, 3)
    mask = torch.ones(1, 2, 4, dtype=torch.bool)
    for layer, h in top3:
        mask[0, layer, h] = False
    m3 = float(ablation.metric_under_masks(model, task, mask, "resample")[0])
    assert c.faithfulness[3] == pytest.approx((m3 - c.m_empty) / (c.m_full - c.m_empty), rel=1e-5)
    assert c.cpr == pytest.approx(cpr(c.x, c.faithfulness)) and c.cmd == pytest.approx(cmd(c.x, c.faithfulness))


def test_mean_ablation_and_mib_grid_options(tiny):
    model, task = tiny
    s = np.arange(8.0).reshape(2, 4)
    pat = faithfulness_curve(model, task, s)
    mean = faithfulness_curve(model, task, s, ablation="mean")
    mib = faithfulness_curve(model, task, s, sizes="mib")
    assert pat.ablation == "patching" and mean.ablation == "mean"
    assert mean.m_empty != pytest.approx(pat.m_empty)
    assert mib.x.tolist() == list(MIB_FRACTIONS) and mib.sizes.tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 4, 8]
    # the MIB grid's points are points of the full curve
    assert mib.faithfulness[-3:] == pytest.approx(pat.faithfulness[[1, 4, 8]], abs=1e-6)
    with pytest.raises(ValueError, match="patching"):
        faithfulness_curve(model, task, s, ablation="zero")


def test_shared_forwards_match_one_method_at_a_time(tiny):
    model, task = tiny
    rng = np.random.default_rng(1)
    scores = {"a": rng.normal(size=(2, 4)), "b": rng.normal(size=(2, 4)), "c": np.zeros((2, 4))}
    together = faithfulness_curves(model, task, scores)
    for name, s in scores.items():
        alone = faithfulness_curve(model, task, s)
        assert together[name].faithfulness == pytest.approx(alone.faithfulness, abs=1e-6)


def test_all_tied_scores_give_the_diagonal(tiny):
    model, task = tiny
    for s in (np.zeros((2, 4)), np.full((2, 4), 7.0)):
        c = faithfulness_curve(model, task, s)
        assert c.boundaries.tolist() == [0, 8]  # only the empty and the full circuit are measured
        assert c.faithfulness == pytest.approx(np.linspace(0, 1, 9), abs=1e-5)
        assert c.cpr == pytest.approx(0.5, abs=1e-5) and c.cmd == pytest.approx(0.5, abs=1e-5)


def _permute_heads(model, layer: int, perm: list[int]) -> None:
    """Renumber the heads of one layer in place: new head j is old head perm[j]."""
    d = model.cfg.d_head
    attn = model.blocks[layer].attn
    rows = torch.cat([torch.arange(p * d, (p + 1) * d) for p in perm])
    with torch.no_grad():
        for name in ("q", "k", "v"):
            lin = getattr(attn, name).original_component
            lin.weight.copy_(lin.weight[rows].clone())
            lin.bias.copy_(lin.bias[rows].clone())
        o = attn.o.original_component
        o.weight.copy_(o.weight[:, rows].clone())


def _index_order_curve(model, task, scores) -> np.ndarray:
    """The curve with ties broken by head index (what an argsort would do)."""
    L, H = scores.shape
    masks = torch.ones(L * H + 1, L, H, dtype=torch.bool)
    for k in range(L * H + 1):
        for layer, h in ablation.top_k_heads(scores, k):
            masks[k, layer, h] = False
    return ablation.metric_under_masks(model, task, masks, "resample").double().numpy()


def test_curve_does_not_depend_on_head_numbering_under_ties():
    """Renumber layer 1's heads (same function); tied heads must not gain from their index."""
    perm = [3, 2, 1, 0]
    a = make_tiny()
    b = make_tiny()
    _permute_heads(b, 1, perm)
    task_a, task_b = toy_ioi_task(a), toy_ioi_task(b)
    assert ablation.clean_metric(b, task_b) == pytest.approx(ablation.clean_metric(a, task_a), abs=1e-5)
    # one head first, the other seven tied at zero
    s_a = np.zeros((2, 4))
    s_a[0, 1] = 1.0
    s_b = s_a.copy()
    s_b[1] = s_a[1, perm]  # the same heads get the same scores under their new numbers
    ca, cb = faithfulness_curve(a, task_a, s_a), faithfulness_curve(b, task_b, s_b)
    assert cb.faithfulness == pytest.approx(ca.faithfulness, abs=1e-5)
    assert cb.cpr == pytest.approx(ca.cpr, abs=1e-6) and cb.cmd == pytest.approx(ca.cmd, abs=1e-6)
    # ...whereas breaking ties by index gives the two numberings different curves
    ia, ib = _index_order_curve(a, task_a, s_a), _index_order_curve(b, task_b, s_b)
    assert np.abs(ia - ib).max() > 1e-3
    # inside the tied block the curve is the straight line between the block's ends
    assert ca.boundaries.tolist() == [0, 1, 8]
    assert ca.faithfulness[1:] == pytest.approx(np.linspace(ca.faithfulness[1], 1.0, 8), abs=1e-5)


def test_undefined_faithfulness_raises():
    model = make_tiny()
    for layer in range(2):
        for h in range(4):
            zero_head_output(model, layer, h)
    task = toy_ioi_task(model)
    with pytest.raises(ValueError, match="undefined"):
        faithfulness_curve(model, task, np.arange(8.0).reshape(2, 4))


# ----------------------------------------------------------------------------- the bundled organism


@pytest.fixture(scope="module")
def organism_ioi():
    from sae_circuits_widget.organism import load_organism
    from sae_circuits_widget.tasks import get_task

    model = load_organism()
    return model, get_task("ioi", model, n=20, seed=0)


def test_real_ranking_beats_its_reverse_on_ioi(organism_ioi):
    model, task = organism_ioi
    effects = ablation.ablation_effects(model, task, kind="resample")  # negative = the head helps
    good, bad = -effects, effects
    curves = faithfulness_curves(model, task, {"patching": good, "reversed": bad})
    g, r = curves["patching"], curves["reversed"]
    assert g.cpr > r.cpr + 0.3 and g.cmd < r.cmd - 0.3
    assert g.cpr > 0.8 and g.cmd < 0.2
    mean = faithfulness_curves(model, task, {"patching": good, "reversed": bad}, ablation="mean")
    assert mean["patching"].cpr > mean["reversed"].cpr and mean["patching"].cmd < mean["reversed"].cmd


# ----------------------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class _TaskWithTruths(Task):
    ground_truths: Optional[dict] = None


def _with_truths(task: Task, **changes) -> Task:
    """``replace(task, **changes)``, also on a Task class without a ``ground_truths`` field."""
    if "ground_truths" in {f.name for f in fields(Task)}:
        return replace(task, **changes)
    return _TaskWithTruths(**{**task.__dict__, **changes})


def test_benchmark_rows_have_cpr_cmd_and_named_aucs(tiny):
    from sae_circuits_widget.baselines.trivial import layer_index
    from sae_circuits_widget.evaluation import benchmark
    from sae_circuits_widget.evaluation.metrics import evaluate_scores

    model, base = tiny
    gt = frozenset({(0, 2), (1, 1)})
    other = frozenset({(1, 3)})
    task = _with_truths(base, ground_truth=gt, ground_truths={"mean_ablation": gt, "patching": other})
    out = benchmark.run_benchmark(model, [task], seeds=[0, 1], methods=["eap", "random", "layer_index"],
                                  progress=False, log=None)
    rows = out["tasks"]["toy_ioi"]
    assert set(rows) == {"eap", "random", "layer_index"}
    for m, row in rows.items():
        assert np.isfinite(row["cpr"]) and np.isfinite(row["cmd"]), m
        assert "cpr" in row["std"] and "cmd" in row["std"]
        assert set(out["faithfulness_curves"]["toy_ioi"][m]) >= {"x", "faithfulness", "cpr", "cmd"}
    # same numbers as the curve computed on its own
    li = faithfulness_curve(model, task, layer_index(model, task).node_scores)
    assert rows["layer_index"]["cpr"] == pytest.approx(li.cpr, abs=1e-6)
    assert rows["layer_index"]["cmd"] == pytest.approx(li.cmd, abs=1e-6)
    # one AUC per named ground truth; the plain node AUC is the task's ground truth
    scores = layer_index(model, task).node_scores
    assert rows["layer_index"]["node_auc"] == pytest.approx(evaluate_scores(scores, gt)["node_auc"])
    assert rows["layer_index"]["node_auc_patching"] == pytest.approx(evaluate_scores(scores, other)["node_auc"])
    assert rows["layer_index"]["node_auc_mean_ablation"] == pytest.approx(rows["layer_index"]["node_auc"])
    assert out["meta"]["cpr_cmd_ablation"] == "patching" and out["meta"]["cpr_cmd_seconds"]["toy_ioi"] > 0
    table = benchmark.format_table(out)
    assert "| CPR | CMD |" in table and "node AUC (patching)" in table
    li_row = [line for line in table.splitlines() if line.startswith("| layer_index |")][0]
    assert f"{rows['layer_index']['cpr']:.3f}" in li_row

    # a task without named ground truths gets no node_auc_<name> keys; cpr_cmd=False skips the areas
    plain = replace(base, ground_truth=gt)
    out2 = benchmark.run_benchmark(model, [plain], seeds=1, methods=["random"], cpr_cmd=False,
                                   progress=False, log=None)
    row2 = out2["tasks"]["toy_ioi"]["random"]
    assert "cpr" not in row2 and not any(k.startswith("node_auc_") for k in row2)
    assert "faithfulness_curves" not in out2
