"""The explorer's trust checks as Python sees them: behaviour per prompt, the score kinds,
agreement with EAP, faithfulness over k, and the edges, each equal to what the engine's
``live.opinions`` computes for the result on screen."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import traitlets

from sae_circuits_widget.live import opinions
from sae_circuits_widget.widgets import CircuitExplorer
from sae_circuits_widget.widgets._common import edge_head_scores
from sae_circuits_widget.widgets.live_charts import faithfulness_chart

FAST = dict(n_pairs=6, n_features=32, n_train=4, n_saes=1, position="last", live=False)
CUSTOM = {k: v for k, v in FAST.items() if k != "n_pairs"}
POS = [
    "When Mary and John went to the store , John gave a drink to",
    "When Tom and Anna went to the park , Anna gave a book to",
    "When Anna and Tom went to the store , Tom gave a drink to",
]
NEG = [
    "When Mary and John went to the store , Tom gave a drink to",
    "When Tom and Anna went to the park , John gave a book to",
    "When Anna and Tom went to the store , Mary gave a drink to",
]


@pytest.fixture
def explorer(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", **FAST)
    yield e
    e.close()


def _split(result):
    pos = [p for p, f in zip(result.prompts, result.is_positive) if f]
    neg = [p for p, f in zip(result.prompts, result.is_positive) if not f]
    return pos, neg


def test_behaviour_per_prompt_is_the_engines_task_check(explorer):
    r = explorer.result
    rows = explorer.behaviour
    assert rows == opinions.behaviour(r) and len(rows) == len(r.prompts)
    assert set(rows[0]) == {"prompt", "side", "top_token", "p_answer", "logit_diff", "solved"}
    assert [row["side"] for row in rows] == ["positive"] * 6 + ["negative"] * 6
    assert explorer.panel.positive_behaviour == rows[:6] and explorer.panel.negative_behaviour == rows[6:]
    assert [row["prompt"] for row in explorer.panel.positive_behaviour] == explorer.panel.positives
    assert explorer.behaviour_summary == r.task_check.summary()
    assert explorer.behaviour_summary.startswith(f"{sum(row['solved'] for row in rows[:6])}/6 positives solved")
    assert explorer.task_warnings == list(r.task_check.warnings)


def test_an_answer_the_model_predicts_turns_a_failed_positive_into_a_solved_one(tiny_model):
    wrong = ["Tom", "Tom", "Tom"]
    e = CircuitExplorer(tiny_model, None, positives=POS * 2, negatives=NEG * 2, answers=wrong * 2, **CUSTOM)
    try:
        assert e.result.task_check.kind == "answers"
        rows = e.behaviour
        failed = next(i for i, row in enumerate(rows[:6]) if row["solved"] is False)
        assert rows[failed]["top_token"] != "Tom" and rows[failed]["p_answer"] is not None
        answers = list(e.panel.answers)
        answers[failed] = rows[failed]["top_token"]  # the model's own top-1 token
        e.panel.set_state({"answers": answers})  # the page's edit of one answer: a new run
        assert e.result.task_check.kind == "answers" and e.behaviour[failed]["solved"] is True
        assert e.behaviour[failed]["logit_diff"] > 0
    finally:
        e.close()


def test_prompts_without_answers_say_why_eap_and_faithfulness_are_missing(tiny_model):
    e = CircuitExplorer(tiny_model, None, positives=POS * 2, negatives=NEG * 2, **CUSTOM)
    try:
        assert e.behaviour_summary.startswith("no answers given")
        assert all(row["solved"] is None for row in e.behaviour)
        assert e.agreement == {} and "EAP needs answers" in e.agreement_note
        assert e.faithfulness_kept is None and "needs answers" in e.faithfulness_note
        with pytest.raises(ValueError, match="needs answers"):
            e.faithfulness(3)
        e.score_kind = "eap"  # the engine's reason instead of a grid
        assert "EAP needs answers" in e.grid.unavailable and e.grid.scores == b""
        assert np.isnan(e.grid.values).all()
        e.score_kind = "sae"
        assert e.grid.unavailable == "" and np.allclose(e.grid.values, e.result.node_scores)
    finally:
        e.close()


def test_each_score_kind_draws_the_engines_scores(explorer, tiny_model):
    r = explorer.result
    pos, neg = _split(r)
    task = explorer.task_object
    expected = {
        "sae": r.node_scores,
        "overlap": 1.0 - opinions.overlap_scores(r),
        "eap": opinions.second_opinion(tiny_model, "eap", positives=pos, negatives=neg, task=task).node_scores,
        "output_diff_norm": opinions.second_opinion(
            tiny_model, "output_diff_norm", positives=pos, negatives=neg, position="last",
        ).node_scores,
        "edge": np.asarray(edge_head_scores(r)).reshape(r.n_layers, r.n_heads),
    }
    for kind, scores in expected.items():
        explorer.set_state({"score_kind": kind})  # as the page's select sends it
        assert explorer.grid.unavailable == ""
        np.testing.assert_allclose(explorer.grid.values, scores, rtol=1e-5, atol=1e-7, err_msg=kind)
    explorer.set_state({"score_kind": "overlap"})
    assert "1 − code overlap" in explorer.grid.label and "bright = task-specific" in explorer.grid.label
    explorer.set_state({"score_kind": "node"})  # the old name still works
    assert explorer.score_kind == "sae"
    with pytest.raises(traitlets.TraitError):
        explorer.score_kind = "random"


def test_agreement_is_spearman_and_top_k_overlap_with_eap(explorer, tiny_model):
    r = explorer.result
    pos, neg = _split(r)
    eap = opinions.second_opinion(tiny_model, "eap", positives=pos, negatives=neg, task=explorer.task_object)
    assert explorer.agreement == opinions.agreement(r.node_scores, eap.node_scores, k=5)
    assert set(explorer.agreement) == {"spearman", "top_k_overlap"} and explorer.agreement_note == ""
    explorer.k = 2
    assert explorer.agreement == opinions.agreement(r.node_scores, eap.node_scores, k=2)


def test_k_moves_the_faithfulness_of_the_ranking_on_screen(explorer, tiny_model):
    r = explorer.result
    total = r.n_layers * r.n_heads
    assert explorer.k == 5 and explorer.k_max == total
    assert explorer.faithfulness_curve["ks"] == list(range(total + 1))
    metric = opinions.metric_task(tiny_model, *_split(r), task=explorer.task_object)
    for k in (0, 2, total):
        explorer.set_state({"k": k})
        want = opinions.faithfulness(tiny_model, metric, r.node_scores, k, tiebreak=r.edge_head_scores)
        assert explorer.faithfulness_kept == pytest.approx(want, rel=1e-6)
        assert explorer.faithfulness(k) == pytest.approx(want, rel=1e-6)
        assert explorer.faithfulness_curve["values"][k] == pytest.approx(want, rel=1e-6)
    explorer.set_state({"score_kind": "eap"})  # the ranking on screen is EAP's now
    eap = opinions.second_opinion(tiny_model, "eap", positives=_split(r)[0], negatives=_split(r)[1], task=explorer.task_object)
    assert explorer.faithfulness_kept == pytest.approx(opinions.faithfulness(tiny_model, metric, eap.node_scores, total), rel=1e-6)
    assert explorer.faithfulness(2, kind="sae") == pytest.approx(
        opinions.faithfulness(tiny_model, metric, r.node_scores, 2, tiebreak=r.edge_head_scores), rel=1e-6,
    )


def test_k_outside_its_bounds_is_refused_and_kept(explorer):
    with pytest.raises(traitlets.TraitError, match="k must be a whole number from 0 to 8"):
        explorer.k = 9
    assert explorer.k == 5
    sent = []
    explorer.send_state = lambda key=None: sent.append(key)
    explorer.set_state({"k": -1})  # from the page
    assert explorer.k == 5 and "k must be" in explorer.error and ["k"] in sent
    with pytest.raises(ValueError, match="k must be from 0 to 8"):
        explorer.faithfulness(99)


def test_edges_and_the_code_pairs_behind_the_selected_one(explorer):
    r = explorer.result
    want = [{"sender": list(e["sender"]), "receiver": list(e["receiver"]), "score": e["score"]} for e in opinions.top_edges(r, 10)]
    assert explorer.edges == want and want and explorer.edge_note == ""
    assert explorer.selected_edge == -1 and explorer.edge_pairs == []
    explorer.set_state({"selected_edge": 1})  # a click on the second edge
    e = explorer.edges[1]
    assert explorer.edge_pairs == opinions.edge_code_pairs(r, tuple(e["sender"]), tuple(e["receiver"]))
    assert explorer.edge_pairs and all(set(p) == {"sender_code", "receiver_code", "positives", "negatives"} for p in explorer.edge_pairs)
    explorer.set_state({"selected_edge": -1})
    assert explorer.edge_pairs == []


def test_the_faithfulness_chart_draws_one_line_per_ranking(explorer):
    spec = explorer.faithfulness_chart().to_dict()
    values = spec["layer"][0]["data"]["values"]
    assert {v["ranking"] for v in values} == {"SAE node score", "EAP"}
    assert len(values) == 2 * (explorer.k_max + 1)
    assert spec["layer"][2]["data"]["values"] == [{"k": 5}]  # the explorer's k, marked
    with pytest.raises(ValueError, match="same number|values of k"):
        faithfulness_chart({"sae": ([0, 1], [0.5])})


def test_in_live_mode_the_checks_run_on_the_worker_and_wait_covers_them(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", **{**FAST, "live": True, "debounce_s": 0.01})
    try:
        assert e.wait(60)
        assert not e.checking and e.agreement and e.faithfulness_kept is not None
        pos = list(e.panel.positives)
        pos[0] = pos[0].replace("drink", "book")
        e.panel.set_state({"positives": pos})
        assert e.wait(60) and not e.checking
        assert e.result.prompts[0] == pos[0] and e.behaviour[0]["prompt"] == pos[0]
        assert e.agreement == opinions.agreement(
            e.result.node_scores, e.checks.second("eap")[0].node_scores, k=5,
        )
    finally:
        e.close()


def test_a_newer_edit_drops_the_checks_of_the_older_result(tiny_model, monkeypatch):
    e = CircuitExplorer(tiny_model, "ioi", **{**FAST, "live": True, "debounce_s": 0.01})
    try:
        assert e.wait(60)
        gate, entered = threading.Event(), threading.Event()
        real = e.checks.curve
        curves_for = []

        def slow_curve(kind, k):
            curves_for.append(e.checks.result.prompts[0])
            entered.set()
            assert gate.wait(20)
            return real(kind, k)

        monkeypatch.setattr(e.checks, "curve", slow_curve)
        first = list(e.panel.positives)
        first[0] = first[0].replace("drink", "book")
        e.panel.set_state({"positives": first})
        assert entered.wait(30)  # the first edit's faithfulness is being measured
        second = list(first)
        second[0] = second[0].replace("book", "drink")
        e.panel.set_state({"positives": second})  # a newer edit meanwhile
        gate.set()
        assert e.wait(60)
        assert e.result.prompts[0] == second[0]
        # the older result's EAP step never ran: its check stopped at the newer request
        assert curves_for.count(first[0]) == 1 and curves_for[-1] == second[0]
        assert e.checks.result is e.result and not e.checking
    finally:
        e.close()


def test_a_preview_gets_eap_and_its_agreement_and_the_final_result_reuses_them(explorer, monkeypatch):
    from sae_circuits_widget.widgets._common import sae_run_value

    rows = set(sae_run_value(explorer.result, "train_rows"))
    train = min(i for i in range(len(explorer.panel.positives)) if i in rows)
    def on_preview() -> bool:
        return bool(sae_run_value(explorer.result, "preview", False))

    seen = []  # (preview on screen?, agreement) each time the agreement with EAP is set
    explorer.observe(lambda c: seen.append((on_preview(), c["new"])), names=["agreement"])
    notes = []  # (preview on screen?, faithfulness note)
    explorer.observe(lambda c: notes.append((on_preview(), c["new"])), names=["faithfulness_note"])
    computed = []
    real = explorer.checks.second

    def counting(kind):
        if kind not in explorer.checks._per_prompts:
            computed.append(kind)
        return real(kind)

    monkeypatch.setattr(explorer.checks, "second", counting)
    pos = list(explorer.panel.positives)
    pos[train] = "When Anna and Tom went to the park , Tom gave a book to"
    explorer.panel.set_state({"positives": pos})  # a training prompt: a preview, then the refit
    assert explorer.is_final and explorer.result.prompts[train] == pos[train]
    assert any(preview and value for preview, value in seen), "the preview's agreement with EAP was shown"
    assert seen[-1][0] is False and seen[-1][1]  # then the final result's
    # the preview's faithfulness waits for the final ranking (the refit is not held up by it)
    assert {n for preview, n in notes if preview} == {"faithfulness: measured once the refit ends…"}
    assert explorer.faithfulness_note not in ("measuring faithfulness…", "faithfulness: measured once the refit ends…")
    assert computed == ["eap"]  # EAP once for these prompts: the final result reused the preview's
