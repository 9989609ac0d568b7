import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parsePairs, renderPromptPanel, type PromptPanelModel } from "../prompt_panel";
import { FakeModel } from "./fake_model";

function setup(extra: Partial<PromptPanelModel> = {}) {
  const model = new FakeModel<PromptPanelModel>({
    positives: ["When Mary and John went to the store , John gave a drink to"],
    negatives: ["When Mary and John went to the store , Tom gave a drink to"],
    positive_tokens: [],
    negative_tokens: [],
    positive_issues: [""],
    negative_issues: [""],
    error: "",
    can_generate: true,
    debounce_ms: 200,
    ...extra,
  });
  const el = document.createElement("div");
  document.body.append(el);
  renderPromptPanel(model.asModel(), el);
  const inputs = () => Array.from(el.querySelectorAll<HTMLInputElement>("input.scw-input"));
  return { model, el, inputs };
}

describe("PromptPanel", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("shows one row per pair with the text in inputs", () => {
    const { inputs } = setup();
    expect(inputs()).toHaveLength(2);
    expect(inputs()[0].value).toContain("John gave");
  });

  it("sends an edit only after the pause", () => {
    const { model, inputs } = setup();
    inputs()[0].value = "When Mary and John went to the park , John gave a book to";
    inputs()[0].dispatchEvent(new Event("input"));
    expect(model.saved).toHaveLength(0);
    vi.advanceTimersByTime(250);
    expect(model.saved).toHaveLength(1);
    expect(model.get("positives")[0]).toContain("park");
  });

  it("adds, duplicates and removes pairs", () => {
    const { model, el, inputs } = setup();
    (el.querySelector(".scw-dup") as HTMLButtonElement).click();
    expect(model.get("positives")).toHaveLength(2);
    expect(model.get("positives")[1]).toBe(model.get("positives")[0]);
    (el.querySelector(".scw-add") as HTMLButtonElement).click();
    expect(model.get("negatives")).toEqual([expect.any(String), expect.any(String), ""]);
    (el.querySelectorAll(".scw-del")[0] as HTMLButtonElement).click();
    expect(model.get("positives")).toHaveLength(2);
    expect(inputs()).toHaveLength(4);
  });

  it("asks Python for more pairs", () => {
    const { model, el } = setup();
    (el.querySelector(".scw-more") as HTMLButtonElement).click();
    expect(model.sent).toEqual([{ kind: "more", n: 4 }]);
  });

  it("pastes many lines and keeps the unreadable ones in the box", () => {
    const { model, el } = setup();
    const area = el.querySelector("textarea") as HTMLTextAreaElement;
    area.value = "a b | a c\nbroken line\nx y\tx z\n";
    (el.querySelector(".scw-paste-add") as HTMLButtonElement).click();
    expect(model.get("positives").slice(1)).toEqual(["a b", "x y"]);
    expect(model.get("negatives").slice(1)).toEqual(["a c", "x z"]);
    expect(area.value).toBe("broken line");
    expect(el.querySelector(".scw-paste-message")?.textContent).toContain("1 line");
  });

  it("shows tokens and inline problems without touching the text", () => {
    const { model, el, inputs } = setup();
    inputs()[0].value = "When Zorblax went";
    inputs()[0].dispatchEvent(new Event("input"));
    vi.advanceTimersByTime(250);
    model.pySet("positive_tokens", [[{ t: "When", u: false }, { t: " Zorblax", u: true }, { t: " went", u: false }]]);
    model.pySet("positive_issues", ["unknown word: 'Zorblax'"]);
    expect(el.querySelector(".scw-token.scw-unknown")?.textContent).toBe(" Zorblax");
    expect(el.querySelector(".scw-positive .scw-issue")?.textContent).toContain("Zorblax");
    expect(el.querySelector(".scw-positive")?.classList.contains("scw-invalid")).toBe(true);
    expect(inputs()[0].value).toBe("When Zorblax went");
  });

  it("renders prompt text as text, never HTML", () => {
    const evil = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    const { el, model, inputs } = setup({ positives: [evil], negatives: ["ok"] });
    model.pySet("positive_tokens", [[{ t: evil, u: false }]]);
    model.pySet("error", evil);
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("script")).toBeNull();
    expect(inputs()[0].value).toBe(evil);
    expect(el.querySelector(".scw-token")?.textContent).toBe(evil);
  });

  it("does not overwrite the input being typed in when Python updates the lists", () => {
    const { model, inputs } = setup();
    inputs()[0].focus();
    inputs()[0].value = "typing now";
    model.pySet("positives", ["from python"]);
    expect(inputs()[0].value).toBe("typing now");
    expect(inputs()[1].value).toContain("Tom");
  });

  it("shows unequal lists and never sends holes", () => {
    const { model, inputs } = setup({ positives: ["a", "b", "c"], negatives: ["x"] });
    expect(inputs()).toHaveLength(6);
    expect(inputs()[5].placeholder).toBe("(none)");
    inputs()[5].value = "z";
    inputs()[5].dispatchEvent(new Event("input"));
    vi.advanceTimersByTime(250);
    expect(model.get("negatives")).toEqual(["x", "", "z"]);
    expect(model.get("positives")).toEqual(["a", "b", "c"]);
  });

  it("parses pairs", () => {
    expect(parsePairs("a | b\n\nc\td\ne")).toEqual({ pairs: [["a", "b"], ["c", "d"]], bad: ["e"] });
  });
});
