"""The notebook widgets (anywidget): one module per widget, one ``js/`` entry each.

* ``CircuitExplorer``: the three below on one model, recomputed live by the engine's
  ``live.LiveSession``, with the checks that say whether to believe the circuit (the
  model's behaviour per prompt, SAE / overlap / EAP / output-difference scores, agreement
  with EAP, faithfulness over k, the strongest edges); ``checks`` keeps those per result,
  ``explorer_outputs`` saves, loads and charts, ``live_charts`` draws the faithfulness
  curve (altair).
* ``PromptPanel``: editable prompt pairs (and each positive's answer) with tokens, inline
  problems and what the model does on each prompt.
* ``HeadGrid``: layers x heads heatmap, ground truth outlined, click to select.
* ``CodeInspector``: one head's SAE codes, what they mean, its attention.
"""

from .circuit_explorer import CircuitExplorer
from .code_inspector import CodeInspector
from .head_grid import HeadGrid
from .prompt_panel import PromptPanel

__all__ = ["CircuitExplorer", "CodeInspector", "HeadGrid", "PromptPanel"]
