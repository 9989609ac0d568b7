"""Prompt sets built from the tiny model's vocabulary, for engine tests."""

from __future__ import annotations

from itertools import permutations

from sae_circuits_widget.tasks.task import Task

NAMES = ("Mary", "John", "Tom", "Anna")
PLACES = ("store", "park")
OBJECTS = ("drink", "book")


def toy_ioi(n: int = 6) -> Task:
    """IOI-style pairs: positives repeat a name (ABBA), negatives use a third name (ABC)."""
    pos, neg = [], []
    for i, (a, b, c) in enumerate(permutations(NAMES, 3)):
        if len(pos) == n:
            break
        place, obj = PLACES[i % 2], OBJECTS[(i // 2) % 2]
        stem = f"When {a} and {b} went to the {place} ,"
        pos.append(f"{stem} {b} gave a {obj} to")
        neg.append(f"{stem} {c} gave a {obj} to")
    return Task("toy_ioi", positives=pos, negatives=neg, answers=[p.split()[1] for p in pos])
