"""Edit -> redrawn grid latency of the CircuitExplorer on the bundled model.

An "edit" replaces one positive prompt with a text the session has never seen, exactly
as the browser does (the panel's ``positives`` trait is set). The timed span runs from
that assignment until the grid's new scores are sent: validation and tokens, the
session's discover (one forward pass for the new prompt, the SAE fit, codes, scores)
and the grid data. The inspector (codes, meanings, attention) follows and is timed
separately. Edits alternate between a prompt the SAE is trained on (the session fits
a new SAE) and one it is not (the session reuses its kept fit); both are reported.
An edit of a training prompt redraws twice: first a preview (every prompt encoded with
the previous SAE, drawn before the refit starts), then the final grid of the refit;
both times from the edit are reported (edit -> first redrawn grid, edit -> final grid).
``--during-refit N`` also times, in live mode (worker thread, 50 ms debounce), an edit
made while the previous edit's refit is still running: the refit is stopped at its next
epoch (the fit's stop callback) and the newer edit runs (``benchmarks/live_latency.py``
times the checks that follow as well).
The browser adds its typing
pause (PromptPanel.debounce_ms, 250 ms by default, the time a user is still typing) and
the paint; ``--browser`` measures the paint in Chromium.

Usage:
    python benchmarks/edit_latency.py                 # 2 threads, 12 pairs, 8 edits
    python benchmarks/edit_latency.py --threads 1 --edits 5 --browser
    python benchmarks/edit_latency.py --fit sparse    # the sparse training loop
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target machine has 2 cores)")
    parser.add_argument("--pairs", type=int, default=12, help="prompt pairs in the panel")
    parser.add_argument("--edits", type=int, default=8, help="number of timed edits")
    parser.add_argument("--task", default="ioi")
    parser.add_argument("--browser", action="store_true", help="also time the grid repaint in Chromium")
    parser.add_argument("--fit", choices=("exact", "sparse"), default="exact",
                        help="the SAE training loop (discover's fit setting; sparse: several times faster, "
                             "equal up to rounding)")
    parser.add_argument("--during-refit", type=int, default=3, help="live-mode edits made during a refit (0: skip)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", UserWarning)
    from sae_circuits_widget.organism import load_organism
    from sae_circuits_widget.tasks import get_task
    from sae_circuits_widget.widgets import CircuitExplorer

    model = load_organism()
    t0 = time.perf_counter()
    explorer = CircuitExplorer(model, args.task, n_pairs=args.pairs, live=False, fit=args.fit)
    first = time.perf_counter() - t0
    fresh = get_task(args.task, model, n=args.edits + 5, seed=999).positives
    fresh = [p for p in fresh if p not in explorer.panel.positives][: args.edits]

    # indices into positives + negatives: the first SAE's training prompts (an edit there
    # gets a preview from that SAE, then the refit) and those of no SAE of the ensemble
    train = set(explorer.result.sae_run.train_rows)
    any_train = set(explorer.result.sae_run.all_train_rows)
    n_pos = len(explorer.panel.positives)
    targets = {
        "training": [i for i in range(n_pos) if i in train],
        "other": [i for i in range(n_pos) if i not in any_train],
    }
    drawn: list[float] = []  # when each grid draw's data was sent (even if the scores did not change)
    draw_grid = explorer._draw_grid

    def timed_draw(result) -> None:
        draw_grid(result)
        drawn.append(time.perf_counter())

    explorer._draw_grid = timed_draw
    totals, finals, full, stages, kinds = [], [], [], [], []
    for k, text in enumerate(fresh):
        kind = "training" if (k % 2 == 0 or not targets["other"]) and targets["training"] else "other"
        pos = list(explorer.panel.positives)
        pos[targets[kind][(k // 2) % len(targets[kind])]] = text
        before = explorer.session.forward_prompts
        t = time.perf_counter()
        drawn.clear()
        explorer.panel.positives = pos  # what the browser sends after the typing pause
        full.append(time.perf_counter() - t)
        totals.append(drawn[0] - t)  # first redrawn grid
        finals.append(drawn[-1] - t)  # final grid
        if explorer.error:
            raise SystemExit(f"edit {k} failed: {explorer.error}")
        n_draws = 2 if kind == "training" else 1  # a preview, then the final grid
        assert len(drawn) == n_draws and explorer.is_final, f"edit of a {kind} prompt: {len(drawn)} grid draws"
        assert explorer.session.forward_prompts - before == 1, "an edit must cost one forward pass"
        stages.append(explorer.result.timings)
        kinds.append(kind)
        expected = "fit" if kind == "training" else "cache"
        assert explorer.result.sae_run.source == expected, f"edit of a {kind} prompt: SAE {explorer.result.extras.get('sae_source')}"

    med = statistics.median(totals)
    print(f"model: bundled organism ({model.cfg.n_layers} layers x {model.cfg.n_heads} heads), task {args.task}, "
          f"{args.pairs} pairs, torch threads {args.threads}, SAE fit loop {args.fit!r}")
    print(f"first run (all prompts through the model): {first:.3f} s")
    print(f"edit -> first redrawn grid (Python side), {len(totals)} edits: median {med:.3f} s, "
          f"min {min(totals):.3f} s, max {max(totals):.3f} s")
    print(f"edit -> final grid, {len(finals)} edits: median {statistics.median(finals):.3f} s, max {max(finals):.3f} s")
    print(f"edit -> final grid and inspector updated: median {statistics.median(full):.3f} s")
    for name in stages[0]:
        print(f"  {name:12s} median {statistics.median(s[name] for s in stages):.4f} s")
    rest = statistics.median(t - s.get("sae_fit", 0.0) for t, s in zip(finals, stages))
    print(f"edit -> grid data without the SAE fit (cache, model, scores, widget): median {rest:.3f} s")
    by_kind, final_by_kind = {}, {}
    for kind, label in (("training", "a training prompt (SAE refit)"), ("other", "any other prompt (kept SAE reused)")):
        ts = [t for t, k in zip(totals, kinds) if k == kind]
        fs = [t for t, k in zip(finals, kinds) if k == kind]
        if ts:
            by_kind[kind] = statistics.median(ts)
            final_by_kind[kind] = statistics.median(fs)
            if kind == "training":
                print(f"edit of {label}, {len(ts)} edits: edit -> first redrawn grid (preview, previous SAE) "
                      f"median {by_kind[kind]:.3f} s, max {max(ts):.3f} s; edit -> final grid median "
                      f"{final_by_kind[kind]:.3f} s, max {max(fs):.3f} s")
            else:
                print(f"edit of {label}, {len(ts)} edits: edit -> grid (final) median {by_kind[kind]:.3f} s, max {max(ts):.3f} s")
    n_all = len(explorer.panel.positives) + len(explorer.panel.negatives)
    share = len(train) / n_all
    print(f"prompts that train the first SAE: {len(train)} of {n_all}; that train any SAE of the "
          f"ensemble (an edit there refits): {len(any_train)} of {n_all}")
    if len(by_kind) == 2 and len(any_train) == len(train):  # one SAE: the two kinds cover every prompt
        mean = share * by_kind["training"] + (1 - share) * by_kind["other"]
        mean_final = share * final_by_kind["training"] + (1 - share) * final_by_kind["other"]
        print(f"edit of a prompt drawn at random: first redrawn grid expected {mean:.3f} s, final grid {mean_final:.3f} s")

    if args.during_refit > 0 and targets["training"] and targets["other"]:
        edit_prompts = get_task(args.task, model, n=4 * args.during_refit + 8, seed=998).positives
        waits = _edits_during_refit(explorer, targets, edit_prompts, args.during_refit)
        print(f"live mode, an edit 0.1 s after a training-prompt edit (its refit running), {len(waits)} edits: "
              f"edit -> its first redrawn grid median {statistics.median(waits):.3f} s, max {max(waits):.3f} s")

    paint = None
    if args.browser:
        paint = _browser_paint(explorer)
        print(f"grid repaint in Chromium after new scores arrive: median {paint * 1000:.1f} ms")
    target = 0.5
    rows = [("first redrawn grid, all edits", med)] + [(f"first redrawn grid, edits of {k} prompts", v) for k, v in by_kind.items()]
    rows += [(f"final grid, edits of {k} prompts", v) for k, v in final_by_kind.items()]
    for kind, m in rows:
        total = m + (paint or 0.0)
        print(f"edit -> {kind}: {total:.3f} s (target <= {target} s: {'met' if total <= target else 'NOT met'})")
    print("plus the browser's typing pause of 0.25 s")
    explorer.close()


def _edits_during_refit(explorer, targets, pool, n: int) -> list[float]:
    """Live mode: edit a training prompt, and 0.1 s after its preview is drawn edit another
    prompt; returns the seconds from the second edit to the first grid that shows it."""
    import threading

    from sae_circuits_widget.widgets import CircuitExplorer

    pool = [p for p in pool if p not in explorer.panel.positives]
    live = CircuitExplorer(explorer.model, explorer.task, session=explorer.session, live=True,
                           positives=list(explorer.panel.positives), negatives=list(explorer.panel.negatives))
    drawn: list[tuple[float, list[str]]] = []
    seen = threading.Condition()

    show = live._show

    def recorded_show(result, gen, inputs, update, *, final):
        # every draw of a result, taken from the explorer: neither the grid's scores nor the
        # status line need change between two draws (a preview can repeat both)
        out = show(result, gen, inputs, update, final=final)
        with seen:
            drawn.append((time.perf_counter(), list(result.prompts)))
            seen.notify_all()
        return out

    def wait_for(text: str) -> float:
        with seen:
            assert seen.wait_for(lambda: any(text in p for _, p in drawn), timeout=30), "edit never drawn"
            return next(t for t, p in drawn if text in p)

    live._show = recorded_show
    waits = []
    for k in range(n):
        first, second = pool[2 * k], pool[2 * k + 1]
        pos = list(live.panel.positives)
        pos[targets["training"][k % len(targets["training"])]] = first
        live.panel.positives = pos
        wait_for(first)  # its preview
        time.sleep(0.1)
        assert live.busy and not live.is_final, f"the refit should still be running (status: {live.status!r})"
        pos = list(pos)
        pos[targets["other"][k % len(targets["other"])]] = second
        t = time.perf_counter()
        live.panel.positives = pos
        waits.append(wait_for(second) - t)
        assert live.wait(30) and live.is_final and live.result.prompts[: len(pos)] == pos
    live.close()
    return waits


def _browser_paint(explorer) -> float:
    """Median time from new scores on the grid model to the next painted frame."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from playwright.sync_api import sync_playwright

    from tests.browser.pages import CHROMIUM_ARGS, ROOT, bare_page_html, chromium_path, route_page

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        route_page(page, bare_page_html("circuit_explorer", explorer))
        page.goto(ROOT + "/")
        page.wait_for_function("window.rendered === true")
        gid = explorer.grid.model_id
        times = page.evaluate(
            """async (gid) => {
              const m = window.models[gid];
              const out = [];
              for (let k = 0; k < 20; k++) {
                const n = m.get("n_layers") * m.get("n_heads");
                const dv = new DataView(new ArrayBuffer(n * 4));
                for (let i = 0; i < n; i++) dv.setFloat32(i * 4, Math.random(), true);
                const t = performance.now();
                m.set("scores", dv);
                await new Promise((r) => requestAnimationFrame(() => r()));
                out.push(performance.now() - t);
              }
              return out;
            }""",
            gid,
        )
        browser.close()
    return statistics.median(times) / 1000


if __name__ == "__main__":
    main()
