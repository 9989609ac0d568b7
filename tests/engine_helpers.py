"""Prompt sets built from the tiny model's vocabulary, for engine tests."""

from __future__ import annotations

from itertools import permutations

from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import toy_ioi_task

NAMES = ("Mary", "John", "Tom", "Anna")
PLACES = ("store", "park")
OBJECTS = ("drink", "book")
PAIRS = tuple(
    (a, b, c, PLACES[i % 2], OBJECTS[(i // 2) % 2]) for i, (a, b, c) in enumerate(permutations(NAMES, 3))
)


def toy_ioi(n: int = 6) -> Task:
    """IOI-style pairs over every ordered choice of three names: positives repeat a name
    (ABBA), negatives use the third name (ABC); no token ids (``toy_ioi_task``)."""
    return toy_ioi_task(n=n, names=PAIRS)
