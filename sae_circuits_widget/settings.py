"""Discovery settings: one validated, frozen, serialisable object, and per-task values.

Every entry point (``discover``, ``Session``, the ``sae-circuits`` command line, the
``CircuitExplorer`` widget and the benchmark) builds its settings here, so the same task
with the same prompts and seed gives the same circuit wherever it is run.

Per-task recommended values (``TASK_SETTINGS``) are the paper's: the sparsity penalty is
0.05 for docstring and 0.02 elsewhere. ``recommended(task_name, **overrides)`` starts from
the defaults, applies the task's values, then the caller's explicit choices; a value the
caller gives always wins.

Bounds
------
Every setting has a lower and an upper bound (``LIMITS``), checked when a ``Settings`` is
built, so a bad value is refused with one line naming the setting before any model or
SAE work starts. The upper bounds keep one run within a few GB:

* ``n_features`` <= 65,536: the SAE's weights are ``2 * d_model * n_features`` floats
  (with Adam's two moments and the gradients, four times that), and every training
  vector gets ``n_features`` activations per epoch. On GPT-2 small (``d_model`` 768, 144
  heads) 65,536 features are 1.6 GB of weights and optimiser state, and 0.4 GB of
  activations per 10 training prompts. The paper uses 200.
* ``n_train`` <= 10,000: the fit is full-batch over ``n_train * heads`` vectors (a larger
  ``n_train`` than there are prompts uses them all). The paper uses 10.
* ``n_saes`` <= 20: time grows linearly with each SAE of the ensemble (default 3).
* ``l1`` in [0, 100]: far above 100 no feature fires on any head output (the run then
  stops with ``DegenerateCodesError``). The paper uses 0.02.
* ``seed`` in [0, 2**63 - 1]: torch's generators take 64-bit seeds.

Example:
    >>> recommended("docstring").l1
    0.05
    >>> recommended("docstring", l1=0.1).l1
    0.1
    >>> LIMITS["n_features"]
    (2, 65536)
    >>> Settings(n_features=1)
    Traceback (most recent call last):
    ...
    sae_circuits_widget.errors.SettingsError: n_features must be between 2 and 65536, got 1 (the SAE's dictionary size; the paper uses 200)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .errors import SettingsError, SettingsTypeError

POSITIONS = ("mean", "last")
"""Head outputs averaged over the prompt's positions, or taken at the last token."""
RECIPES = ("paper", "stable")
FITS = ("exact", "sparse")
"""SAE training loops: bitwise the authors' code, or without the products of zeros (``sae.fit_sae``)."""
"""SAE training recipes (see ``sae``)."""

MAX_SEED = 2**63 - 1
"""Largest seed (torch's generators take 64-bit seeds)."""
MAX_FEATURES = 65_536
MAX_TRAIN = 10_000
MAX_L1 = 100.0
MAX_SAES = 20

LIMITS: dict[str, tuple[Any, Any]] = {
    "seed": (0, MAX_SEED),
    "n_features": (2, MAX_FEATURES),
    "l1": (0.0, MAX_L1),
    "n_train": (2, MAX_TRAIN),
    "n_saes": (1, MAX_SAES),
}
"""Inclusive ``(lowest, highest)`` of every numeric setting (module docstring: why)."""
CHOICES: dict[str, tuple[Any, ...]] = {"position": POSITIONS, "recipe": RECIPES, "fit": FITS, "edges": (True, False)}
"""The allowed values of every other setting."""

_WHAT = {
    "n_features": " (the SAE's dictionary size; the paper uses 200)",
    "n_train": " (prompts the SAE is fit on; the paper uses 10)",
    "n_saes": " (SAEs in the ensemble; each adds one fit's time; the default is 3)",
    "l1": " (the SAE's sparsity penalty; the paper uses 0.02)",
}


def _shown(value: Any) -> str:
    """A short rendering of a rejected value (a huge integer is not echoed digit by digit)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and abs(int(value)) >= 10**15:
        try:
            return f"{int(value):.3g}"
        except OverflowError:
            return f"an integer of about {int(abs(int(value)).bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _int(name: str, value: Any) -> int:
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SettingsTypeError(f"{name} must be an int, got {type(value).__name__} ({_shown(value)})")
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {_shown(value)}{_WHAT.get(name, '')}")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """What decides one discrete-SAE discovery run, validated on construction.

    Raises ``SettingsTypeError`` for a value of the wrong type and ``SettingsError`` for
    one out of range, naming the setting.
    """

    seed: int = 0
    """Seeds the choice of training prompts and the SAE's initial weights."""
    n_features: int = 200
    """SAE dictionary size (the paper: 200)."""
    l1: float = 0.02
    """Sparsity penalty: ``l1 * mean over vectors of the sum of activations`` (the paper:
    0.02; 0.05 for docstring)."""
    position: str = "mean"
    """``"mean"``: head outputs averaged over positions; ``"last"``: at the last token."""
    recipe: str = "paper"
    """SAE training recipe, ``"paper"`` or ``"stable"`` (see ``sae``)."""
    n_train: int = 10
    """Prompts the SAE is fit on (the paper: 10)."""
    n_saes: int = 3
    """SAEs in the ensemble: each is fit with its own seed (``member_seeds``), so on its
    own training prompts and initial weights, and a head's score is the mean of its
    scores under each. 1 is the paper's single SAE; 3 was chosen on the bundled model
    (``benchmarks/recipe_choice.py``; README, "Choosing the default")."""
    edges: bool = True
    """Also compute head-pair scores."""
    fit: str = "exact"
    """The SAE's training loop: ``"exact"``, bitwise the authors' code, or ``"sparse"``
    (paper recipe only), the same arithmetic without the products of zeros, equal up to
    rounding and several times faster (``engine.sparse_fit``)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("seed", "n_features", "n_train", "n_saes"):
            set_(self, name, _int(name, getattr(self, name)))
        raw = l1 = self.l1
        if isinstance(l1, bool) or not isinstance(l1, (int, float, np.floating, np.integer)):
            raise SettingsTypeError(f"l1 must be a number, got {type(l1).__name__} ({_shown(l1)})")
        try:
            l1 = float(l1)
        except OverflowError:  # an int too large for a float
            l1 = math.inf
        low, high = LIMITS["l1"]
        if not math.isfinite(l1) or not low <= l1 <= high:
            raise SettingsError(f"l1 must be a finite number between {low:g} and {high:g}, got {_shown(raw)}{_WHAT['l1']}")
        set_(self, "l1", l1)
        for name, allowed in CHOICES.items():
            if name == "edges":
                continue
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                raise SettingsError(f"{name} must be one of {allowed}, got {_shown(value)}")
        if not isinstance(self.edges, bool):
            raise SettingsTypeError(f"edges must be True or False, got {type(self.edges).__name__}")
        if self.fit == "sparse" and self.recipe != "paper":
            raise SettingsError("fit='sparse' is a training loop of the paper recipe; use fit='exact' with recipe='stable'")

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some values changed (validated again)."""
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise SettingsTypeError(f"unknown setting(s) {sorted(unknown)}; known: {list(FIELDS)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        """Settings from a dict such as ``to_dict()`` wrote; keys that are not settings are ignored."""
        return cls(**{k: v for k, v in dict(data).items() if k in FIELDS})

    def fit_key(self) -> tuple:
        """The values that make one SAE fit differ from another (not the prompts)."""
        return tuple((k, getattr(self, k)) for k in FIT_FIELDS)

    def member_seeds(self) -> list[int]:
        """The seed of each SAE of the ensemble: ``seed * n_saes + k``, so that the
        ensembles of two seeds share no SAE (``n_saes=1``: just ``seed``)."""
        return member_seeds(self.seed, self.n_saes)


def member_seeds(seed: int, n_saes: int) -> list[int]:
    """``[seed * n_saes + k for k in range(n_saes)]``, modulo 2**63 (see ``Settings.member_seeds``).

    Example:
        >>> member_seeds(2, 3)
        [6, 7, 8]
    """
    return [(int(seed) * int(n_saes) + k) % (MAX_SEED + 1) for k in range(int(n_saes))]


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Settings))
FIT_FIELDS: tuple[str, ...] = ("seed", "n_features", "l1", "position", "recipe", "n_train", "n_saes", "fit")
"""The settings an SAE fit depends on."""

TASK_SETTINGS: dict[str, dict[str, Any]] = {
    "docstring": {"l1": 0.05},
}
"""Recommended values per built-in task, over the defaults (the paper's choices)."""


def recommended(task_name: Optional[str] = None, **overrides: Any) -> Settings:
    """Defaults, then ``task_name``'s recommended values, then ``overrides`` (``None``
    values in ``overrides`` mean "not given")."""
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(FIELDS)
    if unknown:
        raise SettingsTypeError(f"unknown setting(s) {sorted(unknown)}; known: {list(FIELDS)}")
    return Settings(**{**TASK_SETTINGS.get(task_name or "", {}), **given})
