import { describe, expect, it } from "vitest";
import { colourDomain, discreteLevels, renderHeadGrid, stabilityText, type HeadGridModel } from "../head_grid";
import { FakeModel, f32 } from "./fake_model";

function setup(extra: Partial<HeadGridModel> = {}) {
  const model = new FakeModel<HeadGridModel>({
    n_layers: 2,
    n_heads: 3,
    scores: f32([0, 0.1, 0.2, 0.3, 0.9, 0.5]),
    ground_truth: [4],
    selected: -1,
    label: "node score",
    scale: "viridis",
    message: "",
    show_values: true,
    stability: f32([]),
    n_saes: 0,
    top_k: 0,
    unavailable: "",
    ...extra,
  });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = renderHeadGrid(model.asModel(), el);
  const cells = () => Array.from(el.querySelectorAll<HTMLElement>(".scw-cell"));
  return { model, el, cells, cleanup };
}

describe("HeadGrid", () => {
  it("draws one cell per head with its value and outlines the ground truth", () => {
    const { cells } = setup();
    expect(cells()).toHaveLength(6);
    expect(Number(cells()[4].dataset.value)).toBeCloseTo(0.9);
    expect(cells()[4].classList.contains("scw-gt")).toBe(true);
    expect(cells().filter((c) => c.classList.contains("scw-gt"))).toHaveLength(1);
    expect(cells()[4].getAttribute("aria-label")).toContain("layer 1 head 1");
    // the highest score gets the brightest colour of the scale (viridis yellow)
    expect(cells()[4].style.background).toBe("rgb(253, 231, 37)");
    expect(cells()[0].style.background).toBe("rgb(68, 1, 84)");
  });

  it("selects a head on click and with the arrow keys, and saves it", () => {
    const { model, el, cells } = setup();
    cells()[1].click();
    expect(model.get("selected")).toBe(1);
    expect(model.saved.at(-1)?.selected).toBe(1);
    const grid = el.querySelector(".scw-grid") as HTMLElement;
    grid.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown" }));
    expect(model.get("selected")).toBe(4);
    grid.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight" }));
    expect(model.get("selected")).toBe(5);
    grid.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight" }));
    expect(model.get("selected")).toBe(5);
    expect(cells()[5].classList.contains("scw-selected")).toBe(true);
    expect(cells().filter((c) => c.classList.contains("scw-selected"))).toHaveLength(1);
  });

  it("redraws when Python sends new scores or a new shape", () => {
    const { model, cells } = setup();
    model.pySet("scores", f32([1, 0, 0, 0, 0, 0]));
    expect(cells()[0].style.background).toBe("rgb(253, 231, 37)");
    model.pySet("n_layers", 3);
    expect(cells()).toHaveLength(9);
    expect(cells()[0].dataset.value).toBe(""); // shape and scores disagree: no stale colours
  });

  it("shows layer.head and the value on hover, and a legend", () => {
    const { el, cells } = setup();
    cells()[4].dispatchEvent(new MouseEvent("mouseenter"));
    const tip = el.querySelector(".scw-tooltip") as HTMLElement;
    expect(tip.textContent).toMatch(/^1\.1: 0\.90/);
    expect(tip.textContent).toContain("known circuit");
    expect(el.querySelector(".scw-legend")?.textContent).toContain("node score");
  });

  it("cleans up its listeners", () => {
    const { model, el, cleanup } = setup();
    cleanup();
    expect(el.querySelector(".scw-grid")).toBeNull();
    expect([...model.handlers.values()].every((s) => s.size === 0)).toBe(true);
  });

  it("shows each head's stability across the ensemble as a bar and a tooltip line", () => {
    const { model, el, cells } = setup({ stability: f32([0, 1 / 3, 0, 2 / 3, 1, 0]), n_saes: 3, top_k: 5 });
    const bars = () => cells().map((c) => c.querySelector<HTMLElement>(".scw-stab"));
    expect(bars().every((b) => b !== null)).toBe(true);
    expect(bars()[4]!.style.width).toBe("100%");
    expect(bars()[3]!.style.width).toBe("67%");
    expect(bars()[0]!.style.width).toBe("0%");
    expect(cells()[3].getAttribute("aria-label")).toContain("in the top 5 of 2/3 SAEs");
    expect(cells()[4].title).toContain("in the top 5 of 3/3 SAEs");
    cells()[1].dispatchEvent(new Event("mouseenter"));
    expect(el.querySelector(".scw-tooltip")?.textContent).toContain("; in the top 5 of 1/3 SAEs");
    expect(el.querySelector(".scw-legend-stab")?.textContent).toBe("bar: share of the 3 SAEs with the head in their top 5");
    // a single SAE (or a baseline): no second channel
    model.pySet("n_saes", 0);
    model.pySet("stability", f32([]));
    expect(bars().every((b) => b === null)).toBe(true);
    expect(cells()[3].getAttribute("aria-label")).not.toContain("SAEs");
    expect(el.querySelector(".scw-legend-stab")).toBeNull();
  });

  it("words stability as a count of SAEs", () => {
    expect(stabilityText(2 / 3, 3, 5)).toBe("in the top 5 of 2/3 SAEs");
    expect(stabilityText(0, 10, 5)).toBe("in the top 5 of 0/10 SAEs");
    expect(stabilityText(1, 1, 5)).toBe("");
    expect(stabilityText(NaN, 3, 5)).toBe("");
  });

  it("gives whole-number scores a discrete legend: one swatch per value with its count", () => {
    const { el, cells } = setup({ scores: f32([0, 1, 1, 2, 0, 0]) });
    const levels = Array.from(el.querySelectorAll<HTMLElement>(".scw-legend-level"));
    expect(levels.map((l) => l.textContent)).toEqual(["0", "1", "2"]);
    expect(Array.from(el.querySelectorAll(".scw-legend-count")).map((c) => c.textContent)).toEqual(["×3", "×2", "×1"]);
    // ties share one colour, the number is printed in each cell, 0 is the darkest
    expect(cells()[1].style.background).toBe(cells()[2].style.background);
    expect(cells()[1].textContent).toBe("1");
    expect(cells()[0].style.background).toBe("rgb(68, 1, 84)");
    expect(levels[1].style.background).toBe(cells()[1].style.background);
    expect(el.querySelector(".scw-legend-bar")).toBeNull();
  });

  it("colours non-negative scores from 0 and keeps a gradient for fractions", () => {
    expect(colourDomain([2, 3, 4])).toEqual([0, 4]);
    expect(colourDomain([0, 0])).toEqual([0, 1]);
    expect(colourDomain([-1, 2])).toEqual([-1, 2]);
    expect(discreteLevels([0, 1.5])).toBeNull();
    expect(discreteLevels([0, 1, 2, 2])).toEqual([0, 1, 2]);
    expect(discreteLevels(Array.from({ length: 20 }, (_, i) => i))).toBeNull();
    const { el } = setup();
    expect(el.querySelector(".scw-legend-bar")).not.toBeNull();
  });

  it("shows the reason instead of the grid when there are no scores", () => {
    const { model, el } = setup();
    model.pySet("unavailable", "EAP needs answers: pass answers=[...]");
    const box = el.querySelector(".scw-grid-unavailable") as HTMLElement;
    expect(box.style.display).toBe("block");
    expect(box.textContent).toContain("EAP needs answers");
    expect((el.querySelector(".scw-grid-wrap") as HTMLElement).style.display).toBe("none");
    model.pySet("unavailable", "");
    expect(box.style.display).toBe("none");
    expect((el.querySelector(".scw-grid-wrap") as HTMLElement).style.display).toBe("");
  });
});
