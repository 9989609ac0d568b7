"""The explorer driven as the browser drives it: set traits, check what is shown."""

import json
import threading
import time

import numpy as np
import pytest

from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.widgets import CircuitExplorer
from sae_circuits_widget.widgets._common import edge_head_scores, from_float32_bytes, sae_run_value

FAST = dict(n_pairs=6, n_features=32, n_train=4, n_saes=1, live=False)  # one SAE on 4 of 12 prompts: some positives are not trained on


@pytest.fixture
def explorer(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", position="last", **FAST)
    yield e
    e.close()


def test_first_run_fills_grid_and_inspector(explorer, tiny_model):
    assert explorer.error == "" and explorer.result is not None
    r = explorer.result
    assert (explorer.grid.n_layers, explorer.grid.n_heads) == (tiny_model.cfg.n_layers, tiny_model.cfg.n_heads)
    np.testing.assert_allclose(explorer.grid.values, r.node_scores, rtol=1e-6)
    top = r.top_heads(1)[0]
    assert explorer.grid.selected_head == top
    assert explorer.inspector.head == top[0] * r.n_heads + top[1]
    assert explorer.inspector.code_of_prompt == r.codes[:, explorer.inspector.head].tolist()
    assert "updated in" in explorer.status and explorer.seconds > 0


def test_editing_one_prompt_recomputes_only_that_prompt(explorer):
    before = explorer.session.forward_prompts
    old = explorer.result
    pos = list(explorer.panel.positives)
    pos[0] = pos[0].replace("drink", "book")
    gen = explorer.generation
    explorer.panel.set_state({"positives": pos})  # the browser's edit
    assert explorer.generation == gen + 1
    assert explorer.session.forward_prompts - before == 1
    assert explorer.result is not old and explorer.result.prompts[0] == pos[0]
    assert explorer.inspector.prompts[0] == pos[0]


def test_invalid_edit_keeps_text_and_last_good_result(explorer):
    good = explorer.result
    shown = explorer.grid.scores
    pos = list(explorer.panel.positives)
    pos[1] = "When Zorblax went to the store"
    explorer.panel.set_state({"positives": pos})
    assert explorer.panel.positives[1] == "When Zorblax went to the store"
    assert "Zorblax" in explorer.error and "Zorblax" in explorer.panel.positive_issues[1]
    assert explorer.result is good and explorer.grid.scores == shown
    assert not explorer.busy
    # fixing it clears the error
    pos[1] = pos[1].replace("Zorblax", "Mary")
    explorer.panel.set_state({"positives": pos})
    assert explorer.error == "" and explorer.result is not good


def test_selecting_a_head_updates_the_inspector(explorer):
    r = explorer.result
    from sae_circuits_widget.engine.scoring import code_sets

    for idx in (0, r.n_layers * r.n_heads - 1):
        explorer.grid.set_state({"selected": idx})
        assert explorer.inspector.head == idx
        assert explorer.inspector.positive_only == code_sets(r.codes, r.is_positive, idx)["unique_positive"]
        codes_here = sorted({int(c) for c in r.codes[:, idx] if c >= 0})
        assert [m["code"] for m in explorer.inspector.meanings] == codes_here
        assert all(m["top_tokens"] for m in explorer.inspector.meanings)
        w = from_float32_bytes(explorer.inspector.attention_weights)
        assert len(w) == len(explorer.inspector.attention_tokens) and abs(w.sum() - 1) < 1e-4


def test_choosing_another_prompt_shows_its_attention(explorer):
    explorer.inspector.set_state({"attention_prompt": 3})
    assert explorer.inspector.attention_tokens[1:] == [t for t in explorer.model.to_str_tokens(explorer.inspector.prompts[3])][1:]


def test_settings_rerun_and_edge_mode_redraws(explorer):
    explorer.set_state({"seed": 3})
    assert explorer.result.settings["seed"] == 3
    explorer.set_state({"score_kind": "edge"})
    pooled = edge_head_scores(explorer.result)
    np.testing.assert_allclose(explorer.grid.values.reshape(-1), np.asarray(pooled).reshape(-1), rtol=1e-6)
    assert "edge" in explorer.grid.label


def test_task_preset_replaces_prompts(explorer):
    gen = explorer.generation
    explorer.set_state({"task": "induction"})
    assert explorer.generation == gen + 1  # one run, not one per list
    assert explorer.task_object.name == "induction"
    assert explorer.panel.positives == explorer.task_object.positives
    assert explorer.result.prompts[: len(explorer.panel.positives)] == explorer.panel.positives


def test_more_like_these_adds_pairs_and_reruns(explorer):
    n = len(explorer.panel.positives)
    gen = explorer.generation
    explorer.panel._on_msg(explorer.panel, {"kind": "more", "n": 2}, [])
    assert explorer.generation == gen + 1
    assert len(explorer.panel.positives) == n + 2 == len(explorer.panel.negatives)
    assert explorer.result.prompts[: n + 2] == explorer.panel.positives


def test_save_writes_a_session_file(explorer, tmp_path):
    path = explorer.save(tmp_path / "circuit.json")
    saved = Session.read_saved(path)
    assert saved["positives"] == explorer.panel.positives
    np.testing.assert_allclose(saved["result"].node_scores, explorer.result.node_scores)
    assert json.loads(path.read_text())["format"] == "sae-circuits/session"


def test_bad_arguments_raise(tiny_model):
    with pytest.raises(TypeError):
        CircuitExplorer(tiny_model, colour="red")
    with pytest.raises(ValueError, match="choose one of"):
        CircuitExplorer(tiny_model, "nope", run=False)
    with pytest.raises(ValueError, match="both positives"):
        CircuitExplorer(tiny_model, positives=["a"], run=False)


# ---------------------------------------------------------------- live loop with a fake engine


class ScriptedSession(Session):
    """A session whose runs take as long as the script says (by the first prompt)."""

    def __init__(self, model, delays):
        super().__init__(model)
        self.delays = delays
        self.started = []

    def discover(self, positives, negatives, **settings):
        self.started.append(positives[0])
        delay = self.delays.get(positives[0], 0.0)
        if delay == "interrupt":
            raise KeyboardInterrupt
        time.sleep(delay)
        n = len(positives) + len(negatives)
        L, H = int(self.model.cfg.n_layers), int(self.model.cfg.n_heads)
        scores = np.full((L, H), float(len(positives[0])))
        is_positive = np.array([True] * len(positives) + [False] * len(negatives))
        return CircuitResult("sae", scores, codes=np.zeros((n, L * H), int), is_positive=is_positive,
                             prompts=list(positives) + list(negatives), timings={"all": delay}, settings=settings)


POS = ["When Mary and John went to the store , John gave a drink to", "When Tom and Anna went to the park , Anna gave a book to"]
NEG = ["When Mary and John went to the store , Tom gave a drink to", "When Tom and Anna went to the park , John gave a book to"]


def test_newest_request_wins_and_stale_results_are_dropped(tiny_model):
    slow, fast = "When Mary went to the store", "When Tom went to the park"
    session = ScriptedSession(tiny_model, {slow: 0.4, fast: 0.0})
    e = CircuitExplorer(task=None, positives=POS, negatives=NEG, session=session, live=True, debounce_s=0.02)
    assert e.wait(10)
    drawn = []
    e.grid.observe(lambda c: drawn.append(from_float32_bytes(c["new"])[0]), names=["scores"])
    e.panel.set_state({"positives": [slow, POS[1]]})
    deadline = time.time() + 5
    while slow not in session.started and time.time() < deadline:
        time.sleep(0.01)
    assert slow in session.started and e.busy  # the slow run is in progress
    e.set_state({"seed": 1})  # a settings change during the run
    e.panel.set_state({"positives": [fast, POS[1]]})  # and a newer edit
    assert e.wait(10)
    assert e.result.prompts[0] == fast and e.result.settings["seed"] == 1
    assert drawn == [float(len(fast))]  # the slow (stale) result was never drawn
    assert not e.busy and e.error == ""
    e.close()


def test_keyboard_interrupt_keeps_the_last_complete_result(tiny_model):
    session = ScriptedSession(tiny_model, {"stop here": "interrupt"})
    e = CircuitExplorer(task=None, positives=POS, negatives=NEG, session=session, live=False)
    good, shown = e.result, e.grid.scores
    e.panel.positives = ["stop here", POS[1]]  # live=False runs at once; the error is shown
    assert "interrupted" in e.error
    with pytest.raises(KeyboardInterrupt):
        e.run()
    assert e.result is good and e.grid.scores == shown
    assert not e.busy and "last complete result" in e.status
    e.panel.positives = POS  # it recovers on the next edit
    assert e.error == "" and e.result is not good
    e.close()


def test_worker_thread_stops_on_close(tiny_model):
    session = ScriptedSession(tiny_model, {})
    e = CircuitExplorer(task=None, positives=POS, negatives=NEG, session=session, live=True, debounce_s=0.01)
    e.request()
    assert e.wait(5)
    worker = e.live._worker
    e.close()
    worker.join(2)
    assert not worker.is_alive()


def test_ground_truth_is_outlined_and_charted(explorer, tmp_path):
    import dataclasses

    explorer.task_object = dataclasses.replace(explorer.task_object, ground_truth=frozenset({(0, 1), (1, 2)}))
    explorer.run()
    assert explorer.grid.ground_truth == [1, 1 * explorer.result.n_heads + 2]
    spec = explorer.roc_chart().to_dict()
    assert len(spec["layer"]) == 2  # chance diagonal + the curve
    assert explorer.export_chart(tmp_path / "roc.svg").read_text().lstrip().startswith("<svg")
    assert explorer.export_chart(tmp_path / "scores.png", chart="scores").read_bytes()[:4] == b"\x89PNG"
    both = explorer.charts().to_dict()
    assert len(both["hconcat"]) == 2 and both["resolve"]["scale"]["color"] == "independent"


def test_edge_mode_lists_the_selected_heads_strongest_edges(explorer):
    explorer.set_state({"score_kind": "edge"})
    head = explorer.inspector.head_label
    edges = explorer.inspector.edges
    assert all(head in (e["sender"], e["receiver"]) for e in edges)
    assert [e["score"] for e in edges] == sorted((e["score"] for e in edges), reverse=True)
    explorer.set_state({"score_kind": "node"})
    assert explorer.inspector.edges == []


def test_custom_prompts_have_no_ground_truth(tiny_model):
    e = CircuitExplorer(tiny_model, None, positives=POS * 2, negatives=NEG * 2, **{k: v for k, v in FAST.items() if k != "n_pairs"})
    assert e.ground_truth is None and e.grid.ground_truth == []
    assert not e.panel.can_generate
    with pytest.raises(ValueError, match="no ground truth"):
        e.roc_chart()
    e.close()


def test_save_before_any_result_explains(tiny_model, tmp_path):
    e = CircuitExplorer(tiny_model, "ioi", run=False, **FAST)
    with pytest.raises(ValueError, match="nothing to save"):
        e.save(tmp_path / "x.json")
    e.close()


def test_load_restores_prompts_and_settings(explorer, tmp_path, tiny_model):
    explorer.set_state({"seed": 2, "position": "mean"})
    path = explorer.save(tmp_path / "circuit.json")
    again = CircuitExplorer.load(path, tiny_model, live=False)
    assert again.panel.positives == explorer.panel.positives and again.panel.negatives == explorer.panel.negatives
    assert (again.seed, again.position, again.n_features) == (2, "mean", explorer.n_features)
    np.testing.assert_array_equal(again.result.codes, explorer.result.codes)
    again.close()
    path.write_text(path.read_text()[:50])
    from sae_circuits_widget.errors import FileFormatError

    with pytest.raises(FileFormatError):
        CircuitExplorer.load(path, tiny_model, live=False)


# ---------------------------------------------------------------- two phases: preview, then the refit


def _train_and_other_rows(e):
    """(a positive the SAE is trained on, a positive it is not)."""
    rows = set(sae_run_value(e.result, "train_rows"))
    n_pos = len(e.panel.positives)
    return min(i for i in range(n_pos) if i in rows), min(i for i in range(n_pos) if i not in rows)


def _record(e):
    """What each grid draw showed (result, is_final after it) and every status line."""
    draws, statuses = [], []
    draw_grid = e._draw_grid  # every draw counts, even one whose scores equal the last

    def recording(result):
        draws.append(result)
        draw_grid(result)

    e._draw_grid = recording
    e.observe(lambda c: statuses.append((e.is_final, c["new"])), names=["status"])
    return draws, statuses


EDIT = "When Anna and Tom went to the park , Tom gave a book to"


def _edit_positive(e, row):
    """Record the draws, then replace positive ``row`` with ``EDIT`` as the browser would.

    Returns (result before the edit, draws, statuses, the new positives)."""
    old = e.result
    draws, statuses = _record(e)
    pos = list(e.panel.positives)
    pos[row] = EDIT
    e.panel.set_state({"positives": pos})
    return old, draws, statuses, pos


def test_editing_a_training_prompt_previews_then_shows_the_refit(explorer, tiny_model):
    from sae_circuits_widget.engine.discover import discover

    train, _ = _train_and_other_rows(explorer)
    old, draws, statuses, pos = _edit_positive(explorer, train)
    neg = list(explorer.panel.negatives)
    assert len(draws) == 2, "a preview, then the final grid"
    preview, final = draws
    assert sae_run_value(preview, "preview", False) and preview.sae is old.sae  # the previous SAE
    assert statuses[0][0] is False and "preview with the previous SAE" in statuses[0][1] and "refitting" in statuses[0][1]
    assert statuses[-1][0] is True and "preview after" in statuses[-1][1]
    assert explorer.is_final and explorer.result is final and not explorer.busy
    assert sae_run_value(final, "source") == "fit" and final.sae is not old.sae
    # the preview encodes every prompt with the previous SAE, the final is a fresh discover
    settings = dict(position="last", n_features=32, n_train=4, n_saes=1)
    again = discover(tiny_model, positives=pos, negatives=neg, sae=old.sae, **settings)
    np.testing.assert_array_equal(preview.codes, again.codes)
    fresh = discover(tiny_model, positives=pos, negatives=neg, **settings)
    np.testing.assert_array_equal(final.codes, fresh.codes)
    np.testing.assert_array_equal(final.node_scores, fresh.node_scores)
    assert not np.array_equal(final.sae.W_dec.detach().numpy(), old.sae.W_dec.detach().numpy())
    np.testing.assert_allclose(explorer.grid.values, final.node_scores, rtol=1e-6)


def test_editing_another_prompt_shows_only_the_final(explorer):
    _, other = _train_and_other_rows(explorer)
    old, draws, statuses, _ = _edit_positive(explorer, other)
    assert len(draws) == 1 and draws[0] is explorer.result
    assert sae_run_value(explorer.result, "source") == "cache" and explorer.result.sae is old.sae
    assert all(final for final, _ in statuses) and not any("preview" in s for _, s in statuses)
    assert explorer.is_final


def test_adding_pairs_changes_the_training_prompts_and_previews(explorer):
    old = explorer.result
    draws, _ = _record(explorer)
    explorer.panel._on_msg(explorer.panel, {"kind": "more", "n": 2}, [])
    assert [bool(sae_run_value(d, "preview", False)) for d in draws] == [True, False]
    assert draws[0].sae is old.sae and sae_run_value(draws[1], "source") == "fit" and explorer.is_final


@pytest.mark.parametrize("change", [{"l1": 0.03}, {"seed": 1}, {"n_features": 24}, {"position": "mean"}, {"task": "induction"}])
def test_a_settings_change_gets_no_preview(explorer, change):
    draws, statuses = _record(explorer)
    explorer.set_state(change)
    assert len(draws) == 1 and not sae_run_value(draws[0], "preview", False)
    assert sae_run_value(draws[0], "source") == "fit" and explorer.is_final
    assert not any("preview" in s for _, s in statuses)


def test_session_preview_is_none_when_the_kept_sae_applies(tiny_model):
    session = Session(tiny_model)
    settings = dict(n_features=32, position="last")
    assert session.preview(POS * 3, NEG * 3, **settings) is None  # nothing fitted yet
    first = session.discover(POS * 3, NEG * 3, **settings)
    assert session.preview(POS * 3, NEG * 3, **settings) is None  # the same training prompts
    assert session.preview(POS * 3, NEG * 3, seed=4, n_features=32, position="last") is None  # other settings
    pos = POS * 3
    pos[next(i for i in sae_run_value(first, "train_rows") if i < len(pos))] = EDIT  # a positive trained on
    quick = session.preview(pos, NEG * 3, **settings)
    assert quick is not None and quick.sae is first.sae and session.last_result is first
    with pytest.raises(TypeError, match="unknown setting"):
        session.preview(pos, NEG * 3, colour="red")


class GatedSession(Session):
    """A real session whose ``discover`` (the refit) waits for the test, or fails, on cue."""

    def __init__(self, model):
        super().__init__(model)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_with = None
        self.returned = []
        self.raised = []

    def discover(self, positives, negatives, **settings):
        self.entered.set()
        assert self.gate.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        try:
            result = super().discover(positives, negatives, **settings)
        except BaseException as exc:
            self.raised.append((positives, exc))
            raise
        self.returned.append(result)
        return result


def _gated(tiny_model, **kw):
    session = GatedSession(tiny_model)
    e = CircuitExplorer(tiny_model, "ioi", position="last", session=session, **{**FAST, **kw})
    return e, session


def test_a_newer_edit_during_the_refit_stops_it_and_wins(tiny_model):
    from sae_circuits_widget.errors import Cancelled

    e, session = _gated(tiny_model, live=True, debounce_s=0.01)
    assert e.wait(20) and e.result is not None
    train, other = _train_and_other_rows(e)
    draws, _ = _record(e)
    session.gate.clear()
    session.entered.clear()
    first = list(e.panel.positives)
    first[train] = EDIT
    e.panel.set_state({"positives": first})
    assert session.entered.wait(10)  # the first edit's refit is running, its preview is shown
    assert not e.is_final and e.busy and "preview" in e.status
    n_before = len(session.returned)
    second = list(first)
    second[train] = "When Tom and Anna went to the store , Anna gave a drink to"
    e.panel.set_state({"positives": second})  # a newer edit, while the refit runs
    session.gate.set()
    assert e.wait(20)
    # the first edit's refit was stopped by the newer edit (not waited for), and never drawn
    assert [(p[train], type(exc)) for p, exc in session.raised] == [(EDIT, Cancelled)]
    assert all(r.prompts[train] != EDIT for r in session.returned[n_before:])
    assert all(sae_run_value(d, "preview", False) for d in draws if d.prompts[train] == EDIT)
    assert e.result.prompts[train] == second[train] and sae_run_value(e.result, "source") == "fit"
    assert e.is_final and not e.busy and e.error == ""
    assert [d.prompts[train] for d in draws][-2:] == [second[train]] * 2  # its own preview, then its final
    e.close()


@pytest.mark.parametrize("failure", ["error", "interrupt"])
def test_a_failed_refit_leaves_the_preview_marked_not_final(tiny_model, failure, tmp_path):
    from sae_circuits_widget.errors import DegenerateCodesError

    e, session = _gated(tiny_model)
    train, _ = _train_and_other_rows(e)
    session.fail_with = DegenerateCodesError("every head output got the same code") if failure == "error" else KeyboardInterrupt()
    pos = list(e.panel.positives)
    pos[train] = EDIT
    e.panel.set_state({"positives": pos})
    assert sae_run_value(e.result, "preview", False) and e.result.prompts[train] == EDIT
    assert not e.is_final and not e.busy
    assert not e.stale  # the preview is of these very prompts and settings: not final, not stale
    assert ("same code" if failure == "error" else "interrupted") in e.error
    assert "preview" in e.status and "not final" in e.status
    with pytest.raises(ValueError, match="preview"):  # a preview is never saved as a result
        e.save(tmp_path / "circuit.json")
    assert not (tmp_path / "circuit.json").exists()
    if failure == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            e.run()
        assert not e.is_final and not e.busy
    session.fail_with = None
    e.run()  # the next run that finishes replaces the preview
    assert e.is_final and e.error == "" and sae_run_value(e.result, "source") == "fit"
    e.close()


def test_returning_to_earlier_settings_gets_no_preview(explorer):
    # seed 0's SAE is kept, but the prompts changed under seed 1: going back is a settings change
    explorer.set_state({"seed": 1})
    train, _ = _train_and_other_rows(explorer)
    pos = list(explorer.panel.positives)
    pos[train] = EDIT
    explorer.panel.set_state({"positives": pos})
    draws, _ = _record(explorer)
    explorer.set_state({"seed": 0})
    assert len(draws) == 1 and not sae_run_value(draws[0], "preview", False) and explorer.is_final


def test_the_inspector_says_whose_codes_it_shows_under_an_ensemble(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", position="last", **{**FAST, "n_saes": 2})
    try:
        head = e.inspector.head
        assert sae_run_value(e.result, "n_saes") == 2
        assert "first of 2 SAEs" in e.inspector.message
        assert f"{e.result.node_scores.reshape(-1)[head]:.2g}" in e.inspector.message
    finally:
        e.close()
    one = CircuitExplorer(tiny_model, "ioi", position="last", **FAST)  # one SAE: nothing to explain
    try:
        assert one.inspector.message == ""
    finally:
        one.close()


def test_the_sparse_training_loop_reaches_the_engine_and_survives_an_edit(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", position="last", fit="sparse", **FAST)
    try:
        assert e.result is not None and e.result.settings["fit"] == "sparse"
        pos = list(e.panel.positives)
        i = next(r for r in e.result.sae_run.train_rows if r < len(pos))  # a positive the SAE trains on
        j = next(r for r in range(len(pos)) if r != i)
        pos[i], pos[j] = pos[j], pos[i]  # its training texts change: the edit refits
        e.panel.positives = pos
        assert e.error == "" and e.result.settings["fit"] == "sparse" and e.result.sae_run.source == "fit"
    finally:
        e.close()
