"""How the explorer reports what goes wrong, in one line, without losing anything.

Three kinds of failure reach the page through the explorer's ``error`` trait:

* a setting outside its bounds (``settings.LIMITS``), refused when it is assigned: the
  ``SettingTrait`` checks every value with ``settings.Settings`` and raises
  ``RefusedSetting`` (a ``SettingsError`` that is also a ``traitlets.TraitError``, so
  traitlets keeps the trait's value and rolls back a message from the page);
* an exception raised by a run on the worker thread, whatever its type: the live
  session's ``failure_message`` (re-exported here) turns it into one line (a package
  error's own message; otherwise its type and shortened message, and what to do when
  memory ran out);
* the result left on screen after such a failure, described by ``describe_difference``
  (what it was computed from, where that differs from the failed request) for the
  "stale" banner.
"""

from __future__ import annotations

from typing import Any, Optional

import traitlets as t

from ..errors import SettingsError, SettingsTypeError
from ..live.session import failure_message
from ..settings import Settings

__all__ = ["RefusedSetting", "RefusedSettingType", "SettingTrait", "describe_difference", "failure_message"]


class RefusedSetting(SettingsError, t.TraitError):
    """A setting out of range assigned to an explorer trait: a ``SettingsError`` (as
    anywhere else in the package) that traitlets also treats as a refused value."""


class RefusedSettingType(SettingsTypeError, t.TraitError):
    """A setting of the wrong type assigned to an explorer trait (see ``RefusedSetting``)."""


class SettingTrait(t.TraitType):
    """A setting of the settings bar: type and bounds checked by ``settings.Settings``.

    A refused value raises ``RefusedSetting`` / ``RefusedSettingType`` and leaves the
    trait as it was; the owner's ``_refused(name, exc)``, if it has one, is told first
    (the explorer puts the message in its ``error``).
    """

    def validate(self, obj: Any, value: Any) -> Any:
        name = str(self.name)
        try:
            return getattr(Settings(**{name: value}), name)
        except (SettingsError, SettingsTypeError) as exc:
            refused = (RefusedSetting if isinstance(exc, SettingsError) else RefusedSettingType)(str(exc))
            report = getattr(obj, "_refused", None)
            if report is not None:
                report(name, refused)
            raise refused from None


def describe_difference(shown: tuple, failed: Optional[tuple]) -> str:
    """What the shown request has that the ``failed`` one has not, in one line.

    Each request is ``(positives, negatives, (task, settings items))``; ``failed`` is
    ``None`` when the failure came before the request was read.

    Example:
        >>> shown = (("a b",), ("a c",), ("ioi", (("n_features", 200), ("seed", 0))))
        >>> describe_difference(shown, (("a b", "d e"), ("a c",), ("ioi", (("n_features", 300), ("seed", 0)))))
        'n_features=200, the previous prompts (1 positives, 1 negatives)'
    """
    pos, neg, (task, settings) = shown
    prompts = f"the previous prompts ({len(pos)} positives, {len(neg)} negatives)"
    if failed is None:
        return "earlier prompts and settings"
    parts = [] if task == failed[2][0] else [f"task={task}"]
    new = dict(failed[2][1])
    parts += [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in settings if new.get(k) != v]
    if (pos, neg) != failed[:2]:
        parts.append(prompts)
    return ", ".join(parts) or "the same prompts and settings"
