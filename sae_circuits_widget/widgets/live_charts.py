"""Small altair charts of the explorer's trust checks (altair only, no model code).

``faithfulness_chart``: the faithfulness curve of one or more head rankings over the
circuit size k, the quantity behind MIB's CPR/CMD. Faithfulness at k is the logit
difference the model keeps when only the top-k heads of a ranking run and every other
head is mean-ablated, as a fraction of the clean logit difference: 1 keeps the whole
behaviour, 0 keeps none of it. A ranking whose curve rises early names the heads that
carry the behaviour; the curves are computed by the engine (``live.opinions``) and
handed over here as numbers.

Example:
    >>> chart = faithfulness_chart({"sae": ([0, 1, 2], [0.1, 0.6, 0.9])}, k=1)
    >>> sorted(chart.to_dict()["layer"][0]["encoding"])
    ['color', 'tooltip', 'x', 'y']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import altair as alt

NAMES = {
    "sae": "SAE node score",
    "overlap": "1 − code overlap",
    "eap": "EAP",
    "output_diff_norm": "output-difference norm",
    "edge": "SAE edges per head",
}
"""How each ranking is named in the legend."""


def faithfulness_chart(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    k: Optional[int] = None,
    *,
    width: int = 320,
    height: int = 180,
) -> alt.LayerChart:
    """Line chart of faithfulness over k, one line per ranking, ``k`` marked by a rule.

    ``curves`` maps a ranking (``"sae"``, ``"eap"``, ... or any label) to ``(ks, values)``.
    A dashed line at 1 marks the whole model's behaviour.
    """
    if not curves:
        raise ValueError("no curves to draw: give at least one ranking's (ks, values)")
    rows = []
    for kind, (ks, values) in curves.items():
        if len(ks) != len(values):
            raise ValueError(f"curve {kind!r}: {len(ks)} values of k but {len(values)} faithfulness values")
        rows += [{"ranking": NAMES.get(kind, kind), "k": int(x), "faithfulness": float(v)} for x, v in zip(ks, values)]
    data = alt.Data(values=rows)
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("k:Q", title="circuit size k (top-k heads kept)"),
            y=alt.Y("faithfulness:Q", title="logit difference kept (fraction)"),
            color=alt.Color("ranking:N", title="ranking", scale=alt.Scale(scheme="tableau10")),
            tooltip=["ranking:N", "k:Q", alt.Tooltip("faithfulness:Q", format=".2f")],
        )
    )
    whole = alt.Chart(alt.Data(values=[{"y": 1.0}])).mark_rule(strokeDash=[4, 3], color="#888").encode(y="y:Q")
    layers = [lines, whole]
    if k is not None:
        layers.append(alt.Chart(alt.Data(values=[{"k": int(k)}])).mark_rule(color="#d55e00").encode(x="k:Q"))
    return alt.layer(*layers).properties(width=width, height=height, title="faithfulness over k")
