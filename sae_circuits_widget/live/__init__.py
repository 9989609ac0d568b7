"""The live loop between the engine and the notebook widgets, and what it shows beside a circuit.

A widget that redraws a circuit while its user types needs three things the engine alone
does not give it, and which are no widget's business to compute:

- ``LiveSession`` (:mod:`.session`): the loop itself. Every edit is a request with a
  generation number; a worker thread waits a short debounce for more edits, runs only
  the newest request, and reports it through one callback: first a *preview* (every
  prompt encoded with the SAE fitted before the edit) when the run must fit a new SAE,
  then the *final* result, or one line saying why it *failed*. A newer request drops
  older ones and stops an SAE fit that is still running. Every model forward pass of the
  process goes under its ``model_lock``.
- the trust checks (:mod:`.opinions`): whether the model solves each prompt
  (``behaviour``), how much each head's codes on positives and negatives overlap
  (``overlap_scores``), a second ranking from another method on the same prompts
  (``second_opinion``: edge attribution patching or output-difference norm) and its
  ``agreement`` with the SAE's, the ``faithfulness`` of the top-k heads under mean
  ablation (and its curve over k), and the strongest edges with the code pairs behind
  them (``top_edges``, ``edge_code_pairs``).
- ``failure_message``: any exception as the one line a widget shows.

It imports the engine, interventions, baselines and tasks, never a widget.

Example:
    >>> from sae_circuits_widget import load_model, get_task         # doctest: +SKIP
    >>> from sae_circuits_widget.settings import recommended         # doctest: +SKIP
    >>> model = load_model(); task = get_task("ioi", model, n=12)     # doctest: +SKIP
    >>> live = LiveSession(model, on_update=print)                    # doctest: +SKIP
    >>> result = live.run(task.positives, task.negatives, recommended("ioi"), task=task)  # doctest: +SKIP
    >>> metric = metric_task(model, task.positives, task.negatives, task=task)           # doctest: +SKIP
    >>> faithfulness(model, metric, result.node_scores, k=5)          # doctest: +SKIP
"""

from .opinions import (
    SECOND_OPINIONS,
    agreement,
    behaviour,
    edge_code_pairs,
    faithfulness,
    faithfulness_curve,
    metric_task,
    overlap_scores,
    second_opinion,
    top_edges,
)
from .session import UPDATE_KINDS, LiveSession, LiveUpdate, failure_message

__all__ = [
    "LiveSession",
    "LiveUpdate",
    "SECOND_OPINIONS",
    "UPDATE_KINDS",
    "agreement",
    "behaviour",
    "edge_code_pairs",
    "failure_message",
    "faithfulness",
    "faithfulness_curve",
    "metric_task",
    "overlap_scores",
    "second_opinion",
    "top_edges",
]
