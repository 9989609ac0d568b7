import { describe, expect, it } from "vitest";
import { renderCircuitExplorer, settingProblem, type CircuitExplorerModel } from "../circuit_explorer";
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
    score_kind: "node",
    busy: false,
    status: "updated in 0.12 s",
    error: "",
    stale: false,
    shown_for: "",
    seconds: 0.12,
    is_final: true,
    generation: 1,
  });
  const panel = new FakeModel<PromptPanelModel>({
    positives: ["a b"], negatives: ["a c"], positive_tokens: [], negative_tokens: [],
    positive_issues: [""], negative_issues: [""], error: "", can_generate: true, debounce_ms: 100,
  });
  const grid = new FakeModel<HeadGridModel>({
    n_layers: 2, n_heads: 2, scores: f32([1, 2, 3, 4]), ground_truth: [3], selected: -1,
    label: "node score", scale: "viridis", message: "", show_values: true, stability: f32([]), n_saes: 0, top_k: 0,
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
    expect(el.querySelectorAll("input.scw-input")).toHaveLength(2);
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
});
