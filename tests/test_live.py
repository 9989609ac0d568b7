"""The live loop and the trust checks the explorer shows beside a circuit.

The tiny random model checks each function against an independent computation (the
baselines, the ablation module, the scoring module); the bundled model checks what a
user relies on: the model solves IOI, EAP ranks heads much as the SAE does, the circuit's
heads keep the behaviour when the rest is ablated, and their codes barely overlap.
"""

from __future__ import annotations

import inspect
import threading

import numpy as np
import pytest
import torch
from engine_helpers import toy_ioi

from sae_circuits_widget.baselines.eap import eap
from sae_circuits_widget.baselines.trivial import output_diff_norm
from sae_circuits_widget.engine.discover import discover
from sae_circuits_widget.engine.result import CircuitResult, rank_heads
from sae_circuits_widget.engine.scoring import code_sets
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.errors import Cancelled, PromptError, PromptTypeError, SettingsError
from sae_circuits_widget.interventions import ablation
from sae_circuits_widget.live import (
    LiveSession,
    agreement,
    behaviour,
    edge_code_pairs,
    failure_message,
    faithfulness,
    faithfulness_curve,
    metric_task,
    overlap_scores,
    second_opinion,
    top_edges,
)
from sae_circuits_widget.live.session import _accepts_stop
from sae_circuits_widget.settings import recommended
from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import toy_ioi_task

# the random tiny model often shows no task signal; that warning is tested on its own
pytestmark = [
    pytest.mark.filterwarnings("ignore:no head has a code unique", "ignore:the model", "ignore:no answers given"),
    pytest.mark.usefixtures("one_torch_thread"),
]

PAIRS = toy_ioi(6)
FAST = recommended(None, n_features=32, n_train=4, n_saes=1, position="last")
EDIT = "When Tom and Anna went to the store , Anna gave a drink to"
OTHER_EDIT = "When John and Mary went to the park , Mary gave a book to"
ENGINE_STOPS = "stop" in inspect.signature(discover).parameters  # Session.discover passes it on


@pytest.fixture(scope="module")
def tiny_result(tiny_model):
    return discover(tiny_model, positives=PAIRS.positives, negatives=PAIRS.negatives, settings=FAST)


@pytest.fixture(scope="module")
def toy(tiny_model):
    return toy_ioi_task(tiny_model)


# ----------------------------------------------------------------------------- codes and edges


def test_overlap_is_the_jaccard_index_of_each_heads_code_sets(tiny_result):
    overlap = overlap_scores(tiny_result)
    assert overlap.shape == tiny_result.node_scores.shape
    for j, value in enumerate(overlap.reshape(-1)):
        sets = code_sets(tiny_result.codes, tiny_result.is_positive, j)
        pos, neg = set(sets["positive"]), set(sets["negative"])
        assert value == pytest.approx(len(pos & neg) / len(pos | neg) if pos | neg else 1.0)
        if value == 0.0:  # nothing shared: every positive code is unique to the positives
            assert tiny_result.node_scores.reshape(-1)[j] == len(pos)


def test_overlap_of_a_head_without_codes_is_one_and_needs_codes():
    r = CircuitResult("sae", np.zeros((1, 3)), codes=np.array([[-1, 1, 4], [-1, 2, 4], [-1, 2, 4]]),
                      is_positive=np.array([True, True, False]))
    assert overlap_scores(r).tolist() == [[1.0, 0.5, 1.0]]
    with pytest.raises(ValueError, match="no SAE codes"):
        overlap_scores(CircuitResult("eap", np.zeros((1, 3))))


def test_top_edges_are_forward_positive_and_best_first(tiny_result):
    edges = top_edges(tiny_result, n=1000)
    assert edges, "the toy prompts give some edge a code pair unique to the positives"
    n_heads = tiny_result.n_heads
    layer_pairs = tiny_result.edge_scores.shape[0]
    forward = [(s, r) for s in range(layer_pairs) for r in range(layer_pairs)
               if s // n_heads < r // n_heads and tiny_result.edge_scores[s, r] > 0]
    assert len(edges) == len(forward)
    scores = [e["score"] for e in edges]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    for e in edges:
        (ls, hs), (lr, hr) = e["sender"], e["receiver"]
        assert ls < lr and e["score"] == tiny_result.edge_scores[ls * n_heads + hs, lr * n_heads + hr]
    assert top_edges(tiny_result, n=3) == edges[:3]
    assert top_edges(CircuitResult("x", np.zeros((2, 2)))) == []


def test_the_code_pairs_behind_an_edge_add_up_to_its_score(tiny_result):
    for e in top_edges(tiny_result, n=5):
        pairs = edge_code_pairs(tiny_result, e["sender"], e["receiver"], top=10_000)
        only_positive = [p for p in pairs if p["negatives"] == 0]
        assert len(only_positive) == e["score"]  # one SAE: the score counts these distinct pairs
        assert pairs[: len(only_positive)] == only_positive  # they come first
        s = e["sender"][0] * tiny_result.n_heads + e["sender"][1]
        assert edge_code_pairs(tiny_result, s, "L{}H{}".format(*e["receiver"]), top=10_000) == pairs
        n_prompts = sum(p["positives"] + p["negatives"] for p in pairs)
        r = e["receiver"][0] * tiny_result.n_heads + e["receiver"][1]
        assert n_prompts == int(((tiny_result.codes[:, s] >= 0) & (tiny_result.codes[:, r] >= 0)).sum())
    with pytest.raises(ValueError, match="does not exist"):
        edge_code_pairs(tiny_result, (9, 0), (0, 0))


def test_behaviour_is_the_task_check_per_prompt(tiny_model, toy):
    r = discover(tiny_model, toy, settings=FAST)
    rows = behaviour(r)
    assert [b["prompt"] for b in rows] == toy.positives + toy.negatives
    assert [b["side"] for b in rows] == ["positive"] * 4 + ["negative"] * 4
    for b in rows:
        assert set(b) == {"prompt", "side", "top_token", "p_answer", "logit_diff", "solved"}
        assert b["solved"] == (b["logit_diff"] > 0)  # token sets: solved when the difference is above 0
    assert behaviour(CircuitResult("x", np.zeros((2, 4)))) == []


# ----------------------------------------------------------------------------- metric and second opinions


def test_metric_task_uses_the_tasks_token_sets_or_the_answers(tiny_model, toy):
    assert metric_task(tiny_model, toy.positives, toy.negatives, task=toy) is toy
    assert metric_task(tiny_model, toy.positives, toy.negatives) is None
    edited = [toy.positives[0].replace("drink", "book"), *toy.positives[1:]]
    assert metric_task(tiny_model, edited, toy.negatives, task=toy) is None  # edited: the token sets no longer apply
    built = metric_task(tiny_model, edited, toy.negatives, answers=toy.answers, task=toy)
    vocab = tiny_model.tokenizer.get_vocab()
    assert built.positives == edited and built.correct_ids == [(vocab[a],) for a in toy.answers]
    with torch.no_grad():
        for i, prompt in enumerate(edited):
            logits = tiny_model(tiny_model.to_tokens(prompt))[0, -1]
            logits[vocab[toy.answers[i]]] = -float("inf")
            assert built.incorrect_ids[i] == (int(logits.argmax()),)  # the strongest other prediction
    with pytest.raises(PromptError, match="one answer per positive"):
        metric_task(tiny_model, edited, toy.negatives, answers=toy.answers[:2])
    with pytest.raises(PromptError, match="2 tokens"):
        metric_task(tiny_model, edited, toy.negatives, answers=["Mary John"] * 4)


def test_eap_second_opinion_is_the_eap_baseline(tiny_model, toy):
    mine = second_opinion(tiny_model, "eap", positives=toy.positives, negatives=toy.negatives, task=toy)
    np.testing.assert_allclose(mine.node_scores, eap(tiny_model, toy).node_scores, rtol=1e-6)
    assert mine.prompts == toy.positives + toy.negatives and mine.warnings == []
    by_answers = second_opinion(tiny_model, "eap", positives=toy.positives, negatives=toy.negatives, answers=toy.answers)
    assert by_answers.node_scores.shape == (2, 4) and np.isfinite(by_answers.node_scores).all()


def test_eap_leaves_out_pairs_of_different_token_counts(tiny_model, toy):
    negatives = list(toy.negatives)
    negatives[1] = negatives[1].replace("gave a", "gave Mary a")  # one token longer than its positive
    r = second_opinion(tiny_model, "eap", positives=toy.positives, negatives=negatives, answers=toy.answers)
    assert r.extras["pairs_used"] == [0, 2, 3] and "3 of 4 pairs" in r.warnings[0] and "pair(s) 2 " in r.warnings[0]
    aligned = Task("t", [toy.positives[i] for i in (0, 2, 3)], [negatives[i] for i in (0, 2, 3)],
                   correct_ids=[toy.correct_ids[i] for i in (0, 2, 3)],
                   incorrect_ids=[metric_task(tiny_model, toy.positives, negatives, toy.answers).incorrect_ids[i] for i in (0, 2, 3)])
    np.testing.assert_allclose(r.node_scores, eap(tiny_model, aligned).node_scores, rtol=1e-6)
    longer = [n.replace("gave a", "gave Mary a") for n in toy.negatives]
    with pytest.raises(PromptError, match="no pair has equal token counts"):
        second_opinion(tiny_model, "eap", positives=toy.positives, negatives=longer, answers=toy.answers)


def test_second_opinion_refusals(tiny_model, toy):
    with pytest.raises(SettingsError, match="EAP needs answers"):
        second_opinion(tiny_model, "eap", positives=toy.positives, negatives=toy.negatives)
    with pytest.raises(SettingsError, match="unknown second opinion 'acdc'"):
        second_opinion(tiny_model, "acdc", positives=toy.positives, negatives=toy.negatives)
    with pytest.raises(PromptError, match="Zorblax"):
        second_opinion(tiny_model, "output_diff_norm", positives=["When Zorblax went", *toy.positives[1:]], negatives=toy.negatives)


def test_output_diff_norm_second_opinion_is_the_baseline(tiny_model, toy):
    mine = second_opinion(tiny_model, "output_diff_norm", positives=toy.positives, negatives=toy.negatives, position="last")
    np.testing.assert_allclose(mine.node_scores, output_diff_norm(tiny_model, toy, position="last").node_scores)
    assert mine.is_positive.tolist() == [True] * 4 + [False] * 4


def test_agreement():
    a = np.arange(8.0).reshape(2, 4)
    assert agreement(a, a, k=3) == {"spearman": 1.0, "top_k_overlap": 1.0}
    assert agreement(a, -a, k=3)["spearman"] == -1.0
    assert agreement(a, np.zeros((2, 4))) == {"spearman": 0.0, "top_k_overlap": 0.0}  # constant: no ranking
    # only heads scoring above 0 enter a top-k; still divided by k
    assert agreement(np.array([[0.0, 0.0, 0.0, 5.0]]), np.array([[0.0, 0.0, 1.0, 5.0]]), k=2)["top_k_overlap"] == 0.5
    nan = a.copy()
    nan[0, 0] = np.nan
    assert np.isfinite(agreement(nan, a)["spearman"])
    with pytest.raises(ValueError, match="k must be"):
        agreement(a, a, k=0)


def test_spearman_averages_ties_as_scipy_does():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.integers(0, 4, (3, 8)).astype(float), rng.integers(0, 3, (3, 8)).astype(float)
        assert agreement(a, b)["spearman"] == pytest.approx(stats.spearmanr(a.ravel(), b.ravel())[0], abs=1e-9)


# ----------------------------------------------------------------------------- faithfulness


def test_faithfulness_is_the_ablation_modules_for_the_top_k(tiny_model, toy):
    scores = np.array([[0.0, 3.0, 1.0, 0.0], [2.0, 0.0, 2.0, 5.0]])
    tiebreak = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    for k in (0, 1, 3, 5):
        heads = rank_heads(scores, tiebreak, k)
        expected = ablation.faithfulness(tiny_model, toy, heads)
        assert faithfulness(tiny_model, toy, scores, k, tiebreak=tiebreak) == pytest.approx(expected, abs=1e-5)
    assert faithfulness(tiny_model, toy, np.ones((2, 4)), 8) == pytest.approx(1.0, abs=1e-6)
    ks, values = faithfulness_curve(tiny_model, toy, scores, [5, 0, 2], tiebreak=tiebreak)
    assert ks == [5, 0, 2]
    assert values == pytest.approx([faithfulness(tiny_model, toy, scores, k, tiebreak=tiebreak) for k in ks], abs=1e-6)
    ks, values = faithfulness_curve(tiny_model, toy, scores)  # default: 0..8 heads
    assert ks == list(range(9)) and values[5:] == [values[5]] * 4  # five heads score above 0: flat after


def test_faithfulness_on_prompts_of_different_lengths(tiny_model, toy):
    negatives = [n.replace("gave a", "gave Mary a") for n in toy.negatives]  # unaligned pairs
    task = Task("t", toy.positives, negatives, correct_ids=toy.correct_ids, incorrect_ids=toy.incorrect_ids)
    everything = faithfulness(tiny_model, task, np.ones((2, 4)), 8)
    assert everything == pytest.approx(1.0, abs=1e-6)
    assert faithfulness(tiny_model, task, np.ones((2, 4)), 0) != pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match=r"must be \[2, 4\]"):
        faithfulness(tiny_model, task, np.ones((3, 4)), 2)
    # the answers' margin over the model's strongest other word: below 0 where the random model fails
    unsolved = metric_task(tiny_model, toy.positives, negatives, answers=toy.answers)
    with pytest.raises(PromptError, match="needs prompts the model solves"):
        faithfulness(tiny_model, unsolved, np.ones((2, 4)), 2)
    with pytest.raises(SettingsError, match="needs a metric"):
        faithfulness(tiny_model, Task("t", toy.positives, toy.negatives), np.ones((2, 4)), 2)


# ----------------------------------------------------------------------------- the live loop


class GatedSession(Session):
    """A real session whose ``discover`` waits for the test to open a gate (or fails on
    cue), and stops when the live session's ``stop`` callback says so: in the engine once
    it takes one, here otherwise, as the engine does before each SAE fit."""

    def __init__(self, model):
        super().__init__(model)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.calls: list[list[str]] = []
        self.fail_with = None

    def discover(self, positives, negatives, stop=None, **settings):
        self.calls.append(list(positives))
        self.entered.set()
        assert self.gate.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        if ENGINE_STOPS:
            return super().discover(positives, negatives, stop=stop, **settings)
        if stop is not None and stop():
            raise Cancelled("the run was cancelled before its SAE fits finished")
        return super().discover(positives, negatives, **settings)


class Recorder:
    def __init__(self):
        self.updates = []
        self.threads = []

    def __call__(self, update):
        self.updates.append(update)
        self.threads.append(threading.current_thread())

    def kinds(self, generation=None):
        return [u.kind for u in self.updates if generation is None or u.generation == generation]


@pytest.fixture()
def gated(tiny_model):
    rec = Recorder()
    live = LiveSession(tiny_model, rec, session=GatedSession(tiny_model), debounce_s=0.01)
    assert live._stop_supported
    yield live, live.session, rec
    live.session.gate.set()
    live.close()


def test_a_sessions_discover_takes_stop_by_name_or_passes_it_on():
    def named(positives, negatives, stop=None): ...
    def passes_on(positives, negatives, **settings): ...
    def fixed(positives, negatives, seed=0): ...

    assert _accepts_stop(named) and not _accepts_stop(fixed)
    assert _accepts_stop(passes_on) == ENGINE_STOPS and _accepts_stop(Session(None).discover) == ENGINE_STOPS


def test_run_is_synchronous_and_reports_in_the_callers_thread(tiny_model, tiny_result):
    rec = Recorder()
    live = LiveSession(tiny_model, rec)
    result = live.run(PAIRS.positives, PAIRS.negatives, FAST)
    assert rec.kinds() == ["final"] and rec.updates[0].result is result and rec.threads == [threading.current_thread()]
    assert rec.updates[0].generation == live.generation == 1 and rec.updates[0].forward_prompts == 12
    np.testing.assert_array_equal(result.node_scores, tiny_result.node_scores)  # the engine's own result
    with pytest.raises(PromptError, match="Zorblax"):
        live.run([*PAIRS.positives[:-1], "When Zorblax went"], PAIRS.negatives, FAST)
    assert rec.kinds() == ["final", "failed"] and "Zorblax" in rec.updates[-1].error
    with pytest.raises(PromptTypeError):  # not a list of texts: the engine's check, reported like any failure
        live.run(None, PAIRS.negatives, FAST)
    assert rec.kinds()[-1] == "failed" and "positives" in rec.updates[-1].error
    live.close()


def test_an_edited_training_prompt_gives_a_preview_then_the_final(gated):
    live, session, rec = gated
    first = live.run(PAIRS.positives, PAIRS.negatives, FAST)
    train = next(i for i in first.sae_run.train_rows if i < len(PAIRS.positives))
    edited = list(PAIRS.positives)
    edited[train] = EDIT
    gen = live.request(edited, PAIRS.negatives, FAST)
    assert live.wait(20)
    assert rec.kinds(gen) == ["preview", "final"]
    preview, final = (u.result for u in rec.updates[-2:])
    assert preview.sae_run.preview and preview.sae is first.sae and preview.prompts[train] == EDIT
    assert final.sae_run.source == "fit" and final.prompts[train] == EDIT and rec.threads[-1] is live._worker
    other = next(i for i in range(len(edited)) if i not in final.sae_run.all_train_rows)
    assert edited[other] != OTHER_EDIT
    edited[other] = OTHER_EDIT
    gen = live.request(edited, PAIRS.negatives, FAST)  # outside the training set: the kept SAE, no preview
    assert live.wait(20) and rec.kinds(gen) == ["final"] and rec.updates[-1].result.sae is final.sae
    gen = live.request(PAIRS.positives, PAIRS.negatives, FAST.replace(seed=1))  # settings change: no preview
    assert live.wait(20) and rec.kinds(gen) == ["final"]


@pytest.mark.parametrize("stoppable", [True, False])
def test_a_newer_request_during_a_run_wins_and_the_older_never_shows(gated, stoppable):
    # not stoppable: as with an engine whose discover takes no ``stop``
    gated[0]._stop_supported = stoppable
    live, session, rec = gated
    session.gate.clear()
    old = live.request(PAIRS.positives, PAIRS.negatives, FAST)
    assert session.entered.wait(10)  # the first request's run is under way
    dropped = live.request(PAIRS.positives, PAIRS.negatives, FAST.replace(seed=2))
    newest = live.request([EDIT, *PAIRS.positives[1:]], PAIRS.negatives, FAST.replace(seed=3))
    assert live.wait(0.05) is False  # still held at the gate
    session.gate.set()
    assert live.wait(20)
    if live._stop_supported:
        assert rec.kinds(old) == ["cancelled"] and rec.updates[0].result is None  # stopped before its fit
        assert "cancelled" in rec.updates[0].error
    else:
        assert rec.kinds(old) == []  # it ran to its end, and its result was dropped
    assert rec.kinds(dropped) == [] and len(session.calls) == 2  # replaced while pending: never ran
    assert rec.kinds(newest) == ["final"] and rec.updates[-1].result.prompts[0] == EDIT
    assert [u.generation for u in rec.updates if u.kind == "final"] == [newest] == [live.generation]


@pytest.mark.parametrize("failure", [RuntimeError("boom\nsecond line"), PromptError("positives[0] is empty")])
def test_errors_arrive_as_failed_with_one_line(gated, failure):
    live, session, rec = gated
    session.fail_with = failure
    gen = live.request(PAIRS.positives, PAIRS.negatives, FAST)
    assert live.wait(20) and rec.kinds(gen) == ["failed"]
    update = rec.updates[-1]
    assert update.exception is failure and update.result is None and "\n" not in update.error
    assert update.error == failure_message(failure)
    assert update.error == ("the run failed: RuntimeError: boom second line" if isinstance(failure, RuntimeError) else str(failure))
    session.fail_with = None
    gen = live.request(PAIRS.positives, PAIRS.negatives, FAST)  # the worker survived
    assert live.wait(20) and rec.kinds(gen) == ["final"]


def test_a_failing_callback_is_reported_and_the_worker_survives(tiny_model):
    seen = []

    def on_update(update):
        seen.append(update)
        if update.kind == "final" and len(seen) == 1:
            raise RuntimeError("the page could not draw it")

    live = LiveSession(tiny_model, on_update, debounce_s=0.0)
    live.request(PAIRS.positives, PAIRS.negatives, FAST)
    assert live.wait(20)
    assert [u.kind for u in seen] == ["final", "failed"] and "could not draw" in seen[1].error
    gen = live.request(PAIRS.positives, PAIRS.negatives, FAST.replace(seed=1))
    assert live.wait(20) and seen[-1].kind == "final" and seen[-1].generation == gen
    live.close()


@pytest.mark.parametrize("stoppable", [True, False])
def test_close_stops_the_worker_and_nothing_is_reported_after(gated, stoppable):
    # not stoppable: as with an engine whose discover takes no ``stop``
    gated[0]._stop_supported = stoppable
    live, session, rec = gated
    session.gate.clear()
    gen = live.request(PAIRS.positives, PAIRS.negatives, FAST)
    assert session.entered.wait(10)
    worker = live._worker
    live.close(timeout=0)
    session.gate.set()
    worker.join(10)
    assert not worker.is_alive() and live.closed
    assert rec.kinds(gen) == []  # stopped by the close; no update after it
    assert live.request(PAIRS.positives, PAIRS.negatives, FAST) == gen and rec.updates == []
    assert live.wait(1)


def test_the_task_scores_behaviour_while_its_prompts_are_unedited(tiny_model, toy):
    live = LiveSession(tiny_model, Recorder())
    assert live.run(toy.positives, toy.negatives, FAST, task=toy).task_check.kind == "token sets"
    edited = [toy.positives[0].replace("drink", "book"), *toy.positives[1:]]
    assert live.run(edited, toy.negatives, FAST, task=toy).task_check.kind == "no answers"
    assert live.run(edited, toy.negatives, FAST, task=toy, answers=toy.answers).task_check.kind == "answers"
    # a preview of the task's own prompts is checked with its token sets, as its final is
    other = toy_ioi_task(tiny_model, names=[
        ("Tom", "Mary", "John", "park", "book"), ("Mary", "Anna", "Tom", "store", "drink"),
        ("Anna", "John", "Mary", "park", "drink"), ("John", "Tom", "Anna", "store", "book"),
    ])
    assert other.name == toy.name
    live.run(other.positives, other.negatives, FAST, task=other)  # the same task and settings, new prompts
    assert live.on_update.kinds(live.generation) == ["preview", "final"]
    preview, final = (u.result for u in live.on_update.updates[-2:])
    assert preview.sae_run.preview and preview.task_check.kind == "token sets"
    assert preview.task_name == final.task_name == other.name  # the task goes with the preview
    assert preview.task_check == final.task_check
    live.close()


def test_settings_must_be_a_settings_object(tiny_model):
    live = LiveSession(tiny_model, Recorder())
    with pytest.raises(TypeError, match="must be a Settings"):
        live.request(PAIRS.positives, PAIRS.negatives, {"seed": 0})
    with pytest.raises(ValueError, match="differ"):
        LiveSession(tiny_model, Recorder(), session=Session(object()))
    live.close()


# ----------------------------------------------------------------------------- the bundled model


@pytest.fixture(scope="module")
def organism_ioi(organism):
    from sae_circuits_widget.tasks import get_task

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    task = get_task("ioi", organism, n=12, seed=0)
    result = discover(organism, task)
    yield organism, task, result
    torch.set_num_threads(before)


def test_the_bundled_model_solves_ioi_and_the_behaviour_says_so(organism_ioi):
    _, _, result = organism_ioi
    rows = behaviour(result)
    assert sum(b["solved"] for b in rows if b["side"] == "positive") >= 11
    assert sum(b["solved"] for b in rows if b["side"] == "negative") <= 6


def test_the_circuit_keeps_the_behaviour_and_nothing_keeps_little(organism_ioi):
    model, task, result = organism_ioi
    ks, values = faithfulness_curve(model, task, result.node_scores, [0, 5, 24], tiebreak=result.edge_head_scores)
    assert values[0] < 0.4  # every head mean-ablated: most of the logit difference is gone
    assert values[1] > 0.7  # the SAE's five best heads keep most of it
    assert values[1] == pytest.approx(ablation.faithfulness(model, task, result.top_heads(5)), abs=1e-5)
    assert faithfulness(model, task, np.ones((3, 8)), 24) == pytest.approx(1.0, abs=1e-6)


def test_eap_agrees_with_the_sae_far_better_than_a_random_ranking(organism_ioi):
    model, task, result = organism_ioi
    other = second_opinion(model, "eap", positives=task.positives, negatives=task.negatives, task=task)
    agree = agreement(result.node_scores, other.node_scores)
    chance = np.mean([agreement(result.node_scores, np.random.default_rng(s).random((3, 8)))["spearman"] for s in range(20)])
    assert agree["spearman"] > chance + 0.3 and agree["top_k_overlap"] >= 0.6


def test_the_circuits_heads_overlap_little(organism_ioi):
    _, task, result = organism_ioi
    overlap = overlap_scores(result)
    truth = np.zeros(overlap.shape, dtype=bool)
    for layer, head in task.ground_truth:
        truth[layer, head] = True
    assert overlap[truth].mean() < overlap[~truth].mean() - 0.15
