import json

import numpy as np
import pytest

from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.evaluation.charts import benchmark_roc_chart, roc_chart, roc_points, save_chart, score_bars

GT = {(1, 0), (1, 2)}


def _result(scores, method="sae"):
    return CircuitResult(method, np.asarray(scores, dtype=float).reshape(2, 3))


def test_roc_points_perfect_and_reversed():
    labels = np.array([0, 0, 0, 1, 0, 1], bool)
    perfect = roc_points(np.array([0, 0, 0, 5, 0, 4.0]), labels)
    assert ((perfect.fpr == 0) & (perfect.tpr == 1)).any()
    reverse = roc_points(-np.array([0, 0, 0, 5, 0, 4.0]), labels)
    assert not ((reverse.fpr == 0) & (reverse.tpr == 1)).any()


def test_roc_chart_one_curve_per_method_with_auc():
    chart = roc_chart({"sae": _result([0, 0, 0, 5, 1, 4]), "random": _result([3, 1, 2, 0, 5, 4])}, GT)
    spec = chart.to_dict()
    methods = {row["method"] for row in spec["datasets"][list(spec["datasets"])[-1]]}
    assert "sae (AUC 1.00)" in methods
    assert len(methods) == 2 and any(m.startswith("random (AUC ") for m in methods)


def test_roc_chart_rejects_bad_ground_truth():
    with pytest.raises(ValueError, match="do not exist"):
        roc_chart({"sae": _result(range(6))}, {(7, 0)})
    with pytest.raises(ValueError, match="at least one"):
        roc_chart({}, GT)


def test_score_bars_mark_ground_truth_and_sort():
    chart = score_bars(_result([0, 0, 0, 5, 1, 4]), GT, top=3)
    data = list(chart.to_dict()["datasets"].values())[0]
    assert [d["head"] for d in data] == ["1.0", "1.2", "1.1"]
    assert [d["circuit"] for d in data] == ["known circuit", "known circuit", "other"]


def test_save_chart_formats(tmp_path):
    chart = score_bars(_result(range(6)))
    assert save_chart(chart, tmp_path / "c.svg").read_text().lstrip().startswith("<svg")
    assert save_chart(chart, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads(save_chart(chart, tmp_path / "c.json").read_text())["mark"]["type"] == "bar"
    with pytest.raises(ValueError, match="use .png"):
        save_chart(chart, tmp_path / "c.gif")


def test_benchmark_roc_chart_one_panel_per_task_one_line_per_method():
    bench = {"roc": {
        "ioi": {"sae": {"fpr": [0, 0, 1], "tpr": [0, 1, 1]}, "eap": {"fpr": [0, 0.5, 1], "tpr": [0, 0.5, 1]},
                "random": {"fpr": [0, 1, 1], "tpr": [0, 0, 1]}},
        "induction": {"sae": {"fpr": [0, 0.25, 1], "tpr": [0, 1, 1]}},
        "no_ground_truth": {},
    }}
    spec = benchmark_roc_chart(bench).to_dict()
    panels = spec["concat"]
    assert [p["title"] for p in panels] == ["ioi", "induction"]
    for panel, want in zip(panels, [["sae (AUC 1.00)", "eap (AUC 0.50)", "random (AUC 0.00)"], ["sae (AUC 0.88)"]]):
        rows = spec["datasets"][panel["layer"][1]["data"]["name"]]
        assert list(dict.fromkeys(r["method"] for r in rows)) == want
    with pytest.raises(ValueError, match="no ROC curves"):
        benchmark_roc_chart({"roc": {"ioi": {}}})
