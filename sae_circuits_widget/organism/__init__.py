"""The bundled model organism: a small attention-only transformer trained on the four
built-in tasks, shipped with causally derived ground-truth circuits.

Example:
    >>> from sae_circuits_widget.organism import load_organism, is_organism
    >>> is_organism(load_organism())
    True
"""

from .model import WEIGHTS_DIR, is_organism, load_organism, organism_circuits, organism_words

__all__ = ["load_organism", "is_organism", "organism_circuits", "organism_words", "WEIGHTS_DIR"]
