import { describe, expect, it } from "vitest";
import { renderHeadGrid, type HeadGridModel } from "../head_grid";
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
});
