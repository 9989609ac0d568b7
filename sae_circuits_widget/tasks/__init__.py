"""Built-in tasks: prompt pairs for IOI, greater-than, docstring and induction.

Each generator draws ``n`` positive prompts (the model can predict the next token) and
``n`` matched negatives (same template, same token count, with the information the
prediction needs removed). Word lists are filtered to words that are a single token of
the model's tokenizer (with a leading space, as they appear mid-sentence), so the same
generators serve the word-level organism and BPE models such as GPT-2.

Ground truth is attached when it is known for the model: the organism's causally
derived circuits (``organism/weights/circuits.json``), the published GPT-2 circuits for
IOI (Wang et al. 2022) and greater-than (Hanna et al. 2023), and the attn-only-4l
docstring circuit (Heimersheim & Janiak 2023).

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> task = get_task("induction", tiny_model(), n=2)
    >>> task.n_pairs
    2
"""

from __future__ import annotations

from .generators import (
    TASK_NAMES,
    get_task,
    greater_than_text,
    published_ground_truth,
)

__all__ = ["TASK_NAMES", "get_task", "greater_than_text", "published_ground_truth"]
