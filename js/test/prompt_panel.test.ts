import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { behaviourMark, parsePairs, renderPromptPanel, type PromptPanelModel } from "../prompt_panel";
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
    positive_behaviour: [],
    negative_behaviour: [],
    show_tokens: false,
    answers: [],
    answer_issues: [],
    ...extra,
  });
  const el = document.createElement("div");
  document.body.append(el);
  renderPromptPanel(model.asModel(), el);
  const inputs = () => Array.from(el.querySelectorAll<HTMLTextAreaElement>("textarea.scw-input"));
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
    const area = el.querySelector("textarea.scw-paste") as HTMLTextAreaElement;
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
    const { el, model, inputs } = setup({ positives: [evil], negatives: ["ok"], show_tokens: true });
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

  it("edits prompts in text areas that keep several lines", () => {
    const { model, inputs } = setup();
    expect(inputs()[0].tagName).toBe("TEXTAREA");
    inputs()[0].value = "line one\nline two";
    inputs()[0].dispatchEvent(new Event("input"));
    vi.advanceTimersByTime(250);
    expect(model.get("positives")[0]).toBe("line one\nline two");
  });

  it("shows tokens for the row being edited and for a prompt with a problem, or all behind the toggle", () => {
    const { model, el, inputs } = setup({ positives: ["a b", "c d"], negatives: ["a c", "c e"], positive_issues: ["", "unknown word: 'd'"], negative_issues: ["", ""] });
    const tok = (i: number) => [{ t: `w${i}`, u: false }];
    model.pySet("positive_tokens", [tok(0), tok(1)]);
    model.pySet("negative_tokens", [tok(2), tok(3)]);
    const shown = () => Array.from(el.querySelectorAll<HTMLElement>(".scw-tokens")).map((t) => t.style.display !== "none");
    expect(shown()).toEqual([false, false, true, false]); // only the invalid positive 2
    inputs()[0].dispatchEvent(new Event("focus")); // editing row 1 (positive 1, negative 1)
    expect(shown()).toEqual([true, true, true, false]);
    const toggle = el.querySelector(".scw-tokens-toggle") as HTMLButtonElement;
    toggle.click();
    expect(model.get("show_tokens")).toBe(true);
    expect(model.saved.at(-1)?.show_tokens).toBe(true);
    expect(shown()).toEqual([true, true, true, true]);
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
  });

  it("marks each prompt solved or not, flags a failed positive and a solved negative, and marks edits pending", () => {
    const { model, el, inputs } = setup({ positives: ["p0", "p1"], negatives: ["n0", "n1"], positive_issues: ["", ""], negative_issues: ["", ""] });
    model.pySet("positive_behaviour", [
      { prompt: "p0", side: "positive", top_token: " Mary", p_answer: 0.83, logit_diff: 2.1, solved: true },
      { prompt: "p1", side: "positive", top_token: " John", p_answer: 0.1, logit_diff: -1.5, solved: false },
    ]);
    model.pySet("negative_behaviour", [
      { prompt: "n0", side: "negative", top_token: " John", p_answer: 0.2, logit_diff: -0.4, solved: false },
      { prompt: "n1", side: "negative", top_token: " Mary", p_answer: 0.7, logit_diff: 1.2, solved: true },
    ]);
    const lines = () => Array.from(el.querySelectorAll<HTMLElement>(".scw-behaviour"));
    expect(lines().map((l) => l.dataset.kind)).toEqual(["ok", "ok", "flag", "flag"]); // p0 n0 p1 n1 (row order)
    expect(lines()[0].textContent).toBe('✓ solved top " Mary" · p(answer) 0.83 · Δlogit +2.10');
    expect(lines()[2].textContent).toContain("✗ fails");
    expect(lines()[3].textContent).toContain("⚠ still solved");
    expect(el.querySelectorAll(".scw-prompt.scw-flagged")).toHaveLength(2);
    inputs()[0].value = "p0 edited";
    inputs()[0].dispatchEvent(new Event("input"));
    expect(lines()[0].dataset.kind).toBe("pending");
    expect(behaviourMark("positive", { prompt: "x", logit_diff: 0.5, solved: null, p_answer: null, top_token: " a" }, "x").mark).toBe("?");
    expect(behaviourMark("negative", undefined, "x").kind).toBe("none");
  });

  it("edits each positive's answer, keeps answers aligned with the rows, and shows answer problems", () => {
    const { model, el } = setup({ positives: ["p0", "p1"], negatives: ["n0", "n1"], positive_issues: ["", ""], negative_issues: ["", ""], answers: [" Mary", " John"] });
    const answers = () => Array.from(el.querySelectorAll<HTMLInputElement>("input.scw-answer-input"));
    expect(answers().map((a) => a.value)).toEqual([" Mary", " John"]);
    answers()[1].value = " Anna";
    answers()[1].dispatchEvent(new Event("input"));
    vi.advanceTimersByTime(250);
    expect(model.get("answers")).toEqual([" Mary", " Anna"]);
    (el.querySelectorAll(".scw-dup")[0] as HTMLButtonElement).click();
    expect(model.get("answers")).toEqual([" Mary", " Mary", " Anna"]);
    (el.querySelectorAll(".scw-del")[0] as HTMLButtonElement).click();
    expect(model.get("answers")).toEqual([" Mary", " Anna"]);
    (el.querySelector(".scw-add") as HTMLButtonElement).click();
    expect(model.get("answers")).toEqual([" Mary", " Anna", ""]);
    model.pySet("answer_issues", ["", "answer ' Anna Lee' of positives[1] is 2 tokens", ""]);
    expect(el.querySelectorAll(".scw-answer-issue")[1].textContent).toContain("2 tokens");
    expect(answers()[1].classList.contains("scw-invalid")).toBe(true);
    // Python replaces the lists (a preset): the answers follow
    model.pySet("positives", ["a", "b"]);
    model.pySet("negatives", ["c", "d"]);
    model.pySet("answers", [" x", " y"]);
    expect(answers().map((a) => a.value)).toEqual([" x", " y"]);
  });
});
