"""The notebook widgets (anywidget): one module per widget, one ``js/`` entry each.

* ``CircuitExplorer``: the three below bound to one engine session, recomputed live.
* ``PromptPanel``: editable prompt pairs with tokens and inline problems.
* ``HeadGrid``: layers x heads heatmap, ground truth outlined, click to select.
* ``CodeInspector``: one head's SAE codes, what they mean, its attention.
"""

from .circuit_explorer import CircuitExplorer
from .code_inspector import CodeInspector
from .head_grid import HeadGrid
from .prompt_panel import PromptPanel

__all__ = ["CircuitExplorer", "CodeInspector", "HeadGrid", "PromptPanel"]
