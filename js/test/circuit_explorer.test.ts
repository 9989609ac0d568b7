import { describe, expect, it } from "vitest";
import { agreementText, faithfulnessText, renderCircuitExplorer, settingProblem, type CircuitExplorerModel } from "../circuit_explorer";
import type { CodeInspectorModel } from "../code_inspector";
import type { HeadGridModel } from "../head_grid";
import type { PromptPanelModel } from "../prompt_panel";
import { FakeModel, f32, i32 } from "./fake_model";

function setup() {
  const explorer = new FakeModel<CircuitExplorerModel>({
    panel: "IPY_MODEL_p",
    grid: "IPY_MODEL_g",
    inspector: "IPY_MODEL_i",
    task: "ioi",
    task_names: ["ioi", "greater_than"],
    seed: 0,
    limits: { seed: [0, 2 ** 63 - 1], n_features: [2, 65536], l1: [0, 100] },
    n_features: 64,
    l1: 0.02,
    position: "mean",
    score_kind: "sae",
    busy: false,
    status: "updated in 0.12 s",
    error: "",
    stale: false,
    shown_for: "",
    seconds: 0.12,
    is_final: true,
    generation: 1,
    behaviour_summary: "",
    task_warnings: [],
    agreement: {},
    agreement_note: "",
    k: 2,
    k_max: 4,
    faithfulness_kept: null,
    faithfulness_curve: {},
    faithfulness_note: "",
    edges: [],
    selected_edge: -1,
    edge_pairs: [],
    edge_note: "",
    checking: false,
  });
  const panel = new FakeModel<PromptPanelModel>({
    positives: ["a b"], negatives: ["a c"], positive_tokens: [], negative_tokens: [],
    positive_issues: [""], negative_issues: [""], error: "", can_generate: true, debounce_ms: 100,
    positive_behaviour: [], negative_behaviour: [], show_tokens: false, answers: [""], answer_issues: [""],
  });
  const grid = new FakeModel<HeadGridModel>({
    n_layers: 2, n_heads: 2, scores: f32([1, 2, 3, 4]), ground_truth: [3], selected: -1,
    label: "node score", scale: "viridis", message: "", show_values: true, stability: f32([]), n_saes: 0, top_k: 0, unavailable: "",
  });
  const inspector = new FakeModel<CodeInspectorModel>({
    head: -1, head_label: "", prompts: [], is_positive: [], codes: i32([]), positive_only: [],
    meanings: [], attention_prompt: -1, attention_tokens: [], attention_weights: f32([]), edges: [], message: "",
  });
  explorer.models.set("p", panel);
  explorer.models.set("g", grid);
  explorer.models.set("i", inspector);
  const el = document.createElement("div");
  document.body.append(el);
  return { explorer, panel, grid, inspector, el };
}

describe("CircuitExplorer", () => {
  it("resolves its three parts and draws them", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    expect(el.querySelectorAll(".scw-cell")).toHaveLength(4);
    expect(el.querySelectorAll("textarea.scw-input")).toHaveLength(2);
    expect(el.querySelector(".scw-inspector")).not.toBeNull();
    expect(el.querySelector(".scw-status")?.textContent).toBe("updated in 0.12 s");
  });

  it("writes settings back and ignores invalid numbers without losing them", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const seed = el.querySelector("input.scw-set-seed") as HTMLInputElement;
    seed.value = "3";
    seed.dispatchEvent(new Event("change"));
    expect(explorer.get("seed")).toBe(3);
    seed.value = "2.5";
    seed.dispatchEvent(new Event("change"));
    expect(explorer.get("seed")).toBe(3);
    expect(seed.value).toBe("2.5");
    const pos = el.querySelector("select.scw-set-position") as HTMLSelectElement;
    pos.value = "last";
    pos.dispatchEvent(new Event("change"));
    expect(explorer.get("position")).toBe("last");
    const task = el.querySelector("select.scw-set-task") as HTMLSelectElement;
    expect(Array.from(task.options).map((o) => o.value)).toEqual(["ioi", "greater_than", "custom"]);
  });

  it("shows busy, then the error beside the last good grid", async () => {
    const { explorer, grid, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    explorer.pySet("busy", true);
    expect(el.querySelector(".scw-status")?.textContent).toBe("computing…");
    explorer.pySet("busy", false);
    explorer.pySet("error", "unknown word 'Zorblax' in positive 1");
    const err = el.querySelector(".scw-run-error") as HTMLElement;
    expect(err.style.display).toBe("block");
    expect(err.textContent).toContain("Zorblax");
    expect(el.querySelectorAll(".scw-cell")).toHaveLength(4);
    expect(Number((el.querySelectorAll(".scw-cell")[3] as HTMLElement).dataset.value)).toBe(4);
    expect(grid.get("selected")).toBe(-1);
  });

  it("marks a preview as not final until the refit replaces it", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const status = el.querySelector(".scw-status") as HTMLElement;
    const box = el.querySelector(".scw-grid-box") as HTMLElement;
    const badge = el.querySelector(".scw-preview-badge") as HTMLElement;
    expect(badge.style.display).toBe("none");
    explorer.pySet("is_final", false);
    explorer.pySet("status", "preview with the previous SAE (0.02 s); refitting the SAE… (not final)");
    explorer.pySet("busy", true);
    expect(status.textContent).toContain("preview with the previous SAE");
    expect(status.classList.contains("scw-busy")).toBe(true);
    expect(box.classList.contains("scw-preview")).toBe(true);
    expect(badge.style.display).toBe("block");
    explorer.pySet("error", "the refit failed");
    expect(el.querySelector(".scw-run-error")?.textContent).toContain("not final");
    explorer.pySet("error", "");
    explorer.pySet("is_final", true);
    explorer.pySet("status", "updated in 0.70 s (preview after 0.02 s)");
    explorer.pySet("busy", false);
    expect(status.textContent).toBe("updated in 0.70 s (preview after 0.02 s)");
    expect(box.classList.contains("scw-preview")).toBe(false);
    expect(badge.style.display).toBe("none");
  });

  it("refuses a setting outside its bounds before sending it, keeping the text", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const features = el.querySelector("input.scw-set-n_features") as HTMLInputElement;
    expect(features.max).toBe("65536");
    const note = el.querySelector(".scw-setting-error") as HTMLElement;
    expect(note.style.display).toBe("none");
    features.value = "1000000000000";
    features.dispatchEvent(new Event("change"));
    expect(explorer.get("n_features")).toBe(64); // not sent
    expect(explorer.saved).toHaveLength(0);
    expect(features.value).toBe("1000000000000"); // the typed text is kept
    expect(features.classList.contains("scw-invalid")).toBe(true);
    expect(note.style.display).toBe("block");
    expect(note.textContent).toContain("n_features must be between 2 and 65536");
    expect(note.textContent).toContain("stays 64");
    features.value = "300";
    features.dispatchEvent(new Event("change"));
    expect(explorer.get("n_features")).toBe(300);
    expect(note.style.display).toBe("none");
    const l1 = el.querySelector("input.scw-set-l1") as HTMLInputElement;
    l1.value = "101";
    l1.dispatchEvent(new Event("change"));
    expect(explorer.get("l1")).toBe(0.02);
    expect(note.textContent).toContain("l1 must be between 0 and 100");
  });

  it("checks the number, its kind and its range", () => {
    expect(settingProblem("n_features", "200", 2, 65536)).toBe("");
    expect(settingProblem("n_features", "", 2, 65536)).toContain("must be a number");
    expect(settingProblem("n_features", "2.5", 2, 65536)).toContain("whole number");
    expect(settingProblem("n_features", "1", 2, 65536)).toContain("between 2 and 65536");
    expect(settingProblem("l1", "0.5", 0, 100)).toBe("");
    expect(settingProblem("l1", "-0.1", 0, 100)).toContain("between 0 and 100");
    expect(settingProblem("seed", "1e300", 0, 2 ** 63 - 1)).toContain(`between 0 and ${Number.MAX_SAFE_INTEGER}`);
  });

  it("dims a stale grid and inspector under a banner naming what they show", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const box = el.querySelector(".scw-grid-box") as HTMLElement;
    const inspector = el.querySelector(".scw-inspector-box") as HTMLElement;
    const banner = el.querySelector(".scw-stale-banner") as HTMLElement;
    expect(banner.style.display).toBe("none");
    expect(box.classList.contains("scw-stale")).toBe(false);
    explorer.pySet("n_features", 4096);
    explorer.pySet("error", "the run ran out of memory: lower n_features or n_train, or use fewer prompts (RuntimeError: not enough memory)");
    explorer.pySet("shown_for", "n_features=64");
    explorer.pySet("stale", true);
    expect(banner.style.display).toBe("block");
    expect(banner.textContent).toBe("stale: the last run failed; showing the result for n_features=64");
    expect(box.classList.contains("scw-stale")).toBe(true);
    expect(inspector.classList.contains("scw-stale")).toBe(true);
    expect(el.querySelector(".scw-run-error")?.textContent).toContain("ran out of memory");
    expect(el.querySelectorAll(".scw-cell")).toHaveLength(4); // the old grid stays, marked
    explorer.pySet("error", "");
    explorer.pySet("stale", false);
    expect(banner.style.display).toBe("none");
    expect(box.classList.contains("scw-stale")).toBe(false);
    expect(inspector.classList.contains("scw-stale")).toBe(false);
  });

  it("offers the five score kinds with readable labels and writes the choice back", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const kind = el.querySelector("select.scw-set-score_kind") as HTMLSelectElement;
    expect(Array.from(kind.options).map((o) => o.value)).toEqual(["sae", "overlap", "eap", "output_diff_norm", "edge"]);
    expect(Array.from(kind.options).map((o) => o.textContent)).toContain("1 − code overlap");
    kind.value = "eap";
    kind.dispatchEvent(new Event("change"));
    expect(explorer.get("score_kind")).toBe("eap");
    expect(explorer.saved.at(-1)?.score_kind).toBe("eap");
  });

  it("says above the grid whether the model does the task, flagged when it does not", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const summary = el.querySelector(".scw-grid-box .scw-behaviour-summary") as HTMLElement;
    expect(summary.style.display).toBe("none");
    explorer.pySet("behaviour_summary", "11/12 positives solved; negatives at chance (4/12)");
    expect(summary.style.display).toBe("block");
    expect(summary.textContent).toBe("model check: 11/12 positives solved; negatives at chance (4/12)");
    expect(summary.classList.contains("scw-flag")).toBe(false);
    explorer.pySet("task_warnings", ["the model solves only 3/12 positives: ..."]);
    expect(summary.classList.contains("scw-flag")).toBe(true);
    expect(summary.querySelector(".scw-summary-warning")?.textContent).toContain("3/12");
  });

  it("shows the agreement with EAP, or why there is none", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const line = el.querySelector(".scw-agreement") as HTMLElement;
    explorer.pySet("agreement_note", "EAP needs answers: pass answers=[...]");
    expect(line.textContent).toBe("EAP needs answers: pass answers=[...]");
    expect(line.classList.contains("scw-muted")).toBe(true);
    explorer.pySet("k", 5);
    explorer.pySet("agreement", { spearman: 0.4213, top_k_overlap: 0.6 });
    expect(line.textContent).toBe("SAE vs EAP: Spearman 0.42 · top-5 overlap 0.60 (3/5 heads shared)");
    expect(line.classList.contains("scw-muted")).toBe(false);
    expect(agreementText({}, 5)).toBe("");
  });

  it("moves k with the slider or the box, refuses k outside 0..k_max, and shows the faithfulness and its curve", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    const range = el.querySelector("input.scw-k-range") as HTMLInputElement;
    const box = el.querySelector("input.scw-k-number") as HTMLInputElement;
    expect(range.max).toBe("4");
    expect(box.value).toBe("2");
    range.value = "3";
    range.dispatchEvent(new Event("input"));
    expect(explorer.get("k")).toBe(3);
    expect(explorer.saved.at(-1)?.k).toBe(3);
    box.value = "9";
    box.dispatchEvent(new Event("change"));
    expect(explorer.get("k")).toBe(3); // not sent
    expect(box.value).toBe("9"); // the typed text stays
    expect(box.classList.contains("scw-invalid")).toBe(true);
    explorer.pySet("faithfulness_kept", 0.873);
    explorer.pySet("faithfulness_curve", { ks: [0, 1, 2, 3, 4], values: [0.1, 0.5, 0.8, 0.87, 1.0] });
    expect(el.querySelector(".scw-faithfulness-value")?.textContent).toBe(
      "top 3 head(s) keep 87% of the logit difference (others mean-ablated)",
    );
    expect(el.querySelector(".scw-curve polyline")?.getAttribute("points")?.split(" ")).toHaveLength(5);
    expect(el.querySelector(".scw-curve .scw-curve-mark")).not.toBeNull();
    explorer.pySet("faithfulness_kept", null);
    explorer.pySet("faithfulness_note", "faithfulness needs answers");
    expect(el.querySelector(".scw-faithfulness-value")?.textContent).toBe("faithfulness needs answers");
    expect(faithfulnessText(NaN, 2)).toBe("");
  });

  it("draws the strongest edges as a layered graph and selects one on click", async () => {
    const { explorer, el } = setup();
    await renderCircuitExplorer(explorer.asModel(), el);
    expect(el.querySelector(".scw-edge-note")?.textContent).toBe("no edge scored above 0");
    explorer.pySet("edges", [
      { sender: [0, 1], receiver: [1, 0], score: 2.0 },
      { sender: [0, 0], receiver: [1, 1], score: 0.5 },
    ]);
    const lines = () => Array.from(el.querySelectorAll<SVGLineElement>(".scw-edge-graph line.scw-edge"));
    expect(lines()).toHaveLength(2);
    expect(Number(lines()[0].getAttribute("stroke-width"))).toBeGreaterThan(Number(lines()[1].getAttribute("stroke-width")));
    expect(el.querySelectorAll(".scw-edge-graph circle")).toHaveLength(4); // 2 layers x 2 heads
    // layers are columns: the sender of edge 0 sits left of its receiver
    expect(Number(lines()[0].getAttribute("x1"))).toBeLessThan(Number(lines()[0].getAttribute("x2")));
    (el.querySelectorAll(".scw-edge-hit")[1] as SVGLineElement).dispatchEvent(new MouseEvent("click"));
    expect(explorer.get("selected_edge")).toBe(1);
    expect(explorer.saved.at(-1)?.selected_edge).toBe(1);
    explorer.pySet("edge_pairs", [{ sender_code: 4, receiver_code: 7, positives: 3, negatives: 0 }]);
    expect(lines()[1].classList.contains("scw-edge-selected")).toBe(true);
    expect(el.querySelector(".scw-edge-title")?.textContent).toContain("L0.H0 → L1.H1");
    const cells = Array.from(el.querySelectorAll(".scw-edge-pairs tr.scw-pair-posonly td")).map((c) => c.textContent);
    expect(cells).toEqual(["#4", "#7", "3", "0"]);
  });

  it("cleans up every listener it added", async () => {
    const { explorer, panel, grid, inspector, el } = setup();
    const cleanup = await renderCircuitExplorer(explorer.asModel(), el);
    cleanup();
    for (const m of [explorer, panel, grid, inspector]) {
      expect([...m.handlers.values()].every((set) => set.size === 0)).toBe(true);
    }
    expect(el.querySelector(".scw-explorer")).toBeNull();
  });
});
