"""The shareable HTML report: one self-contained page of a result.

A reader opens the file without a kernel or a network: every style and script is inside
it, the prompts are text (never markup), the known circuit is outlined in the grid, the
top heads come in ``top_heads`` order, and stability shows only under an ensemble.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sae_circuits_widget.engine.result import CircuitResult, PromptBehaviour, SAERun, TaskCheck
from sae_circuits_widget.errors import GroundTruthError
from sae_circuits_widget.evaluation import report
from sae_circuits_widget.evaluation.report import write_html
from sae_circuits_widget.heads import head_label

EVIL = "<script>alert('x')</script> When Mary & John"
VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "col", "area", "base", "source", "track", "embed", "param"}


class Page(HTMLParser):
    """The parts of a page the tests look at; also checks that every tag is closed."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.mismatched: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "table":
            self._table = a.get("class", "")
            self.rows.setdefault(self._table, [])
        elif tag == "tr" and self._table is not None:
            self.rows[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):  # <rect .../> in SVG: opened and closed
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.rows[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        if not self.open or self.open[-1] != tag:
            self.mismatched.append(tag)
        else:
            self.open.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def with_class(self, cls: str) -> list[dict[str, str]]:
        return [a for _, a in self.elements if cls in a.get("class", "").split()]

    def table(self, cls: str) -> list[list[str]]:
        """Body rows (header row dropped) of the first table whose class starts with ``cls``."""
        key = next(k for k in self.rows if k.split()[:len(cls.split())] == cls.split())
        return self.rows[key][1:]


def handmade(stability: bool = True, **changes) -> CircuitResult:
    """A 2 x 4 result with a task check, an ensemble of 3 and an evil prompt."""
    prompts = [EVIL, "When Anna and Tom went", "When Mary and Tom went", "When Anna and John went"]
    rows = tuple(
        PromptBehaviour(p, side, " Mary", 0.5 - 0.1 * i, 1.5 - i, i % 2 == 0)
        for i, (p, side) in enumerate(zip(prompts, ["positive", "positive", "negative", "negative"]))
    )
    check = TaskCheck("token sets", 2, 2, 1.0, 0.5, prompts=rows, warnings=("negatives <b>still</b> solved",))
    fields: dict[str, Any] = dict(
        method="sae",
        node_scores=np.array([[4.0, 3.0, 0.0, 1.0], [2.0, 0.0, 5.0, 1.0]]),
        edge_head_scores=np.array([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 1.0]]),
        prompts=prompts,
        is_positive=np.array([True, True, False, False]),
        timings={"activations": 0.25, "sae_fit": 1.5},
        settings={"seed": 0, "n_saes": 3, "model": "tiny <model>"},
        task_name="ioi",
        task_check=check,
        warnings=["negatives <b>still</b> solved"],
    )
    if stability:
        fields["stability"] = np.array([[1.0, 2 / 3, 0.0, 1 / 3], [1.0, 0.0, 1.0, 1 / 3]])
        fields["sae_run"] = SAERun(n_saes=3, member_node_scores=np.zeros((3, 2, 4)))
    fields.update(changes)
    return CircuitResult(**fields)


def assert_self_contained(text: str) -> None:
    page = Page(text)
    remote = re.compile(r"^\s*(https?:)?//", re.I)
    for tag, attrs in page.elements:
        for name in ("src", "href", "xlink:href", "action", "data"):
            assert not remote.match(attrs.get(name, "")), f"<{tag} {name}={attrs[name]!r}> needs the network"
        assert tag not in ("link", "iframe", "img"), f"<{tag}> in a self-contained page"
    assert not re.search(r"""\bimport\s*\(?\s*["'](https?:)?//""", text)
    assert not re.search(r"""(@import|url\()\s*["']?(https?:)?//""", text, re.I)
    scripts = [a for tag, a in page.elements if tag == "script"]
    assert all("src" not in a for a in scripts)


# ----------------------------------------------------------------------------- handmade result

@pytest.mark.unit
def test_a_handmade_page_is_self_contained_and_well_formed(tmp_path):
    path = tmp_path / "report.html"
    text = write_html(handmade(), path, ground_truth={(0, 0), (1, 2)})
    assert path.read_text(encoding="utf-8") == text
    assert_self_contained(text)
    page = Page(text)
    assert page.open == [] and page.mismatched == []
    assert page.elements[0][0] == "html"
    # the checker itself fails on a page that needs the network
    with pytest.raises(AssertionError):
        assert_self_contained(text.replace("</body>", '<script src="https://cdn.example/x.js"></script></body>'))
    with pytest.raises(AssertionError):
        assert_self_contained(text.replace("</body>", "<script type=module>import 'https://cdn.example/x.js'</script></body>"))


@pytest.mark.unit
def test_prompts_and_other_texts_are_escaped():
    text = write_html(handmade(), ground_truth={(0, 0)})
    assert "<script>alert" not in text and "<b>still</b>" not in text and "tiny <model>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; When Mary &amp; John" in text
    page = Page(text)
    assert EVIL in "".join(page.text)  # shown to the reader as text
    # the only scripts are the embedded grid's state and module
    scripts = [a.get("type") for tag, a in page.elements if tag == "script"]
    assert scripts == ["application/json", "module"]
    assert [tag for tag, _ in page.elements if tag == "script"] == ["script", "script"]
    assert not [tag for tag, _ in Page(write_html(handmade(), interactive=False)).elements if tag == "script"]


@pytest.mark.unit
def test_a_title_or_label_cannot_close_the_embedded_state():
    text = write_html(handmade(method="</script><script>alert(1)</script>"), title="<i>t</i>")
    assert "</script><script>alert(1)" not in text
    assert "<title>&lt;i&gt;t&lt;/i&gt;</title>" in text
    assert Page(text).mismatched == []


@pytest.mark.unit
def test_the_ground_truth_heads_are_outlined():
    gt = {(0, 0), (1, 2), (1, 3)}
    page = Page(write_html(handmade(), ground_truth=gt))
    outlines = page.with_class("gt-outline")
    assert len(outlines) == len(gt)
    cells = page.with_class("cell")
    assert len(cells) == 8
    # each outline sits in the cell of a ground-truth head (the cell group precedes its parts)
    ringed = set()
    current = None
    for _, a in page.elements:
        if "cell" in a.get("class", "").split():
            current = (int(a["data-layer"]), int(a["data-head"]))
        elif "gt-outline" in a.get("class", "").split():
            ringed.add(current)
    assert ringed == gt
    assert page.with_class("gt-outline") and not Page(write_html(handmade())).with_class("gt-outline")
    assert "node AUC" in "".join(page.text)


@pytest.mark.unit
def test_a_ground_truth_outside_the_model_is_refused():
    with pytest.raises(GroundTruthError, match="do not exist"):
        write_html(handmade(), ground_truth={(5, 0)})


@pytest.mark.unit
def test_top_heads_come_in_the_results_order_with_scores_and_stability():
    result = handmade()
    page = Page(write_html(result, ground_truth={(0, 0), (1, 2)}))
    rows = page.table("top-heads")
    assert [r[1] for r in rows] == [head_label(h) for h in result.top_heads(15)]
    assert [r[1] for r in rows] == ["L1H2", "L0H0", "L0H1", "L1H0", "L1H3", "L0H3"]  # 1 = 1: by pooled edge score
    assert rows[0] == ["1", "L1H2", "5", "3.00", "3/3", "yes"]
    assert rows[2] == ["3", "L0H1", "3", "2.00", "2/3", "no"]


@pytest.mark.unit
def test_stability_is_shown_when_present_and_absent_otherwise():
    with_it = Page(write_html(handmade()))
    assert len(with_it.with_class("stab-bar")) == 8
    # a 38 px cell: 3/3, 2/3, 1/3 and 0/3 of the SAEs
    assert {float(a["width"]) for a in with_it.with_class("stab-bar")} == {38.0, 25.33, 12.67, 0.0}
    assert "in top 5 of SAEs" in "".join(with_it.text)
    without = Page(write_html(handmade(stability=False)))
    assert without.with_class("stab-bar") == []
    assert "in top 5 of SAEs" not in "".join(without.text)
    assert all(len(r) == 4 for r in without.table("top-heads"))


@pytest.mark.unit
def test_the_task_check_is_listed_per_prompt():
    result = handmade()
    page = Page(write_html(result))
    text = "".join(page.text)
    assert result.task_check is not None
    assert f"Task check: {result.task_check.summary()}" in text
    assert text.count("negatives <b>still</b> solved") == 1  # a warning of both lists is shown once
    positives, negatives = page.table("prompts positives"), page.table("prompts negatives")
    assert [r[1] for r in positives] == [EVIL, "When Anna and Tom went"]
    assert positives[0] == ["1", EVIL, "✓", "' Mary'", "0.500", "+1.50"]
    assert negatives[1][2] == "✗"


@pytest.mark.unit
def test_without_a_task_check_the_prompts_are_listed_by_side():
    page = Page(write_html(handmade(task_check=None, warnings=[])))
    assert [r[1] for r in page.table("prompts negatives")] == ["When Mary and Tom went", "When Anna and John went"]
    assert "Task check" not in "".join(page.text)
    assert "The result holds no prompts" in write_html(handmade(task_check=None, prompts=None, is_positive=None))


@pytest.mark.unit
def test_nan_scores_are_drawn_grey_and_give_no_auc():
    scores = np.array([[4.0, np.nan, 0.0, 1.0], [2.0, 0.0, 5.0, 1.0]])
    text = write_html(handmade(stability=False, node_scores=scores), ground_truth={(0, 0)})
    assert "rgb(190, 190, 190)" in text and "Some scores are NaN" in text


@pytest.mark.unit
def test_a_folder_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        write_html(handmade(), tmp_path)
    with pytest.raises(ValueError, match="does not exist: create it first"):
        write_html(handmade(), tmp_path / "missing" / "report.html")


@pytest.mark.unit
def test_colours_and_numbers_match_the_widgets_front_end():
    assert report.rgb_at(0.0) == (68, 1, 84) and report.rgb_at(1.0) == (253, 231, 37)
    # halfway between stops 4 and 5 of js/lib/colors.ts: (34.5, 144, 139.5), rounded half up as Math.round does
    assert report.rgb_at(0.5) == (35, 144, 140)
    assert [report.fmt(v) for v in (0.0, 5.0, 2.5, 0.123, 1234.5, -0.004)] == ["0", "5", "2.5", "0.12", "1.2e+3", "-4.0e-3"]
    assert report.colour_domain(np.array([1.0, 3.0])) == (0.0, 3.0)
    assert report.colour_domain(np.array([-1.0, 3.0])) == (-1.0, 3.0)


@pytest.mark.unit
def test_the_stability_k_is_the_engines():
    from sae_circuits_widget.engine import result as result_module

    assert report.STABILITY_K == result_module.STABILITY_K


@pytest.mark.unit
def test_the_report_never_reaches_the_result_module_so_to_html_makes_no_cycle():
    """``CircuitResult.to_html`` imports this module; were any import of it (also inside
    a function, also through another module) to reach ``engine.result``, that would be a
    cycle."""
    root = Path(report.__file__).resolve().parents[1]

    def imports(path: Path) -> set[Path]:
        package = path.parent
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.parent
                parts = (node.module or "").split(".") if node.module else []
                for a in node.names:
                    for cand in (base.joinpath(*parts, a.name), base.joinpath(*parts)):
                        for f in (cand.with_suffix(".py"), cand / "__init__.py"):
                            if f.is_file():
                                found.add(f)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for n in names:
                    if n.startswith("sae_circuits_widget"):
                        found.add(root.parent.joinpath(*n.split(".")).with_suffix(".py"))
        return found

    seen, todo = set(), [Path(report.__file__).resolve()]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imports(path)
    reached = sorted(str(p.relative_to(root)) for p in seen)
    assert "evaluation/metrics.py" in reached  # the walk follows imports
    # metrics may reach engine.scoring (which imports nothing of the package), never the result
    assert not [p for p in reached if p in ("engine/result.py", "evaluation/charts.py") or p.startswith("widgets")], reached


# ----------------------------------------------------------------------------- a real discover result

@pytest.fixture(scope="module")
def discovered(tiny_model, one_torch_thread):
    from sae_circuits_widget.engine.discover import discover
    from sae_circuits_widget.testing import toy_ioi_task

    task = toy_ioi_task(tiny_model)
    with pytest.warns(UserWarning):  # the random model does not do the task: the check says so
        return discover(tiny_model, task, seed=0, n_saes=2, n_features=64)


def test_a_page_of_a_real_discover_result(discovered, tmp_path):
    result = discovered
    gt = {(0, 1), (1, 2)}
    text = write_html(result, tmp_path / "r.html", ground_truth=gt)
    assert_self_contained(text)
    page = Page(text)
    assert page.open == [] and page.mismatched == []
    assert len(page.with_class("cell")) == result.n_layers * result.n_heads == 8
    assert len(page.with_class("gt-outline")) == 2
    assert len(page.with_class("stab-bar")) == 8  # two SAEs: stability shown
    rows = page.table("top-heads")
    assert [r[1] for r in rows] == [head_label(h) for h in result.top_heads(15)]
    shares = {head_label(h): f"{round(result.stability[h] * 2)}/2" for h in result.top_heads(15)}
    assert {r[1]: r[4] for r in rows} == shares
    # the task check: one row per prompt, a mark per solved prompt, the summary and warnings
    check = result.task_check
    assert check is not None
    prompt_rows = page.table("prompts positives") + page.table("prompts negatives")
    assert [r[1] for r in prompt_rows] == [p.prompt for p in check.prompts]
    assert sum(r[2] == "✓" for r in prompt_rows) == sum(bool(p.solved) for p in check.prompts)
    body = "".join(page.text)
    assert check.summary() in body
    assert all(w in body for w in result.warnings)
    assert "node AUC" in body and "roc-curve" in text
    # settings and timings
    assert {r[0] for r in page.table("settings")} >= {"seed", "n_features", "n_saes"}
    assert [r[0] for r in page.table("timings")][-1] == "total"


def test_a_page_of_a_saved_and_reloaded_result_is_the_same(discovered):
    again = CircuitResult.loads(discovered.to_json())
    assert write_html(again, ground_truth={(0, 1)}) == write_html(discovered, ground_truth={(0, 1)})


@pytest.mark.unit
def test_the_charts_bars_best_first_and_a_roc_curve_only_with_a_known_circuit():
    result = handmade()
    with_truth = Page(write_html(result, ground_truth={(0, 0), (1, 2)}))
    bars = with_truth.with_class("bar")
    assert len(bars) == 8
    labels = [t for t in with_truth.text if re.fullmatch(r"L\dH\d", t)]
    assert labels[-8:][:2] == ["L1H2", "L0H0"]  # the bar chart comes after the table: best first
    assert len(with_truth.with_class("roc-curve")) == 2  # node and pooled edge scores
    without = Page(write_html(result))
    assert without.with_class("roc-curve") == [] and "No known circuit given" in "".join(without.text)
