"""Exceptions raised on bad input, each a ``ValueError`` or ``TypeError`` subclass.

Every message names the problem and what to do about it, so the widget can show it
inline and the CLI can print it without a traceback. Catch ``SaeCircuitsError`` to catch
all of them.
"""

from __future__ import annotations

from typing import Any, Optional


class SaeCircuitsError(Exception):
    """Base class of every error this package raises on purpose."""


class PromptError(SaeCircuitsError, ValueError):
    """The prompt lists cannot be used (empty, too few, too long, unknown words, ...).

    ``issues`` holds the per-prompt problems (``validation.PromptIssue``) so a front end
    can mark each offending prompt instead of showing one long message.
    """

    def __init__(self, message: str, issues: Optional[list[Any]] = None):
        super().__init__(message)
        self.issues = list(issues or [])


class PromptTypeError(SaeCircuitsError, TypeError):
    """Prompts were given as something other than a list of strings."""


class SettingsError(SaeCircuitsError, ValueError):
    """A discovery setting is out of range (features, l1, position, recipe, ...)."""


class SettingsTypeError(SaeCircuitsError, TypeError):
    """A discovery setting has the wrong type (e.g. a float seed)."""


class ModelLoadError(SaeCircuitsError, ValueError):
    """A model name is unknown or the model could not be loaded."""


class OfflineError(ModelLoadError):
    """A pretrained model was asked for but no network (and no local copy) is available."""


class UnsupportedModelError(SaeCircuitsError, ValueError):
    """The model has no attention heads the engine can hook."""


class UnsupportedArchitectureError(UnsupportedModelError):
    """TransformerLens has no adapter for the model's architecture (``config.architectures``).

    ``architectures`` holds the names the model's config gave.
    """

    def __init__(self, message: str, architectures: Optional[list[str]] = None):
        super().__init__(message)
        self.architectures = list(architectures or [])


class NonFiniteActivationsError(SaeCircuitsError, ValueError):
    """Some head outputs are NaN or infinite."""


class DegenerateCodesError(SaeCircuitsError, ValueError):
    """The SAE produced no live feature, or every vector got the same code.

    Scores computed from such codes would rank heads by nothing; no result is returned.
    """


class GroundTruthError(SaeCircuitsError, ValueError):
    """A ground-truth circuit names heads that do not exist, or is empty / everything."""


class FileFormatError(SaeCircuitsError, ValueError):
    """A saved result or session file is truncated, not JSON, or from a newer version."""


class UnknownTaskError(SaeCircuitsError, ValueError):
    """A task name is not one of the built-in tasks."""


class Cancelled(SaeCircuitsError):
    """A run was stopped by its ``stop`` callback (a newer edit superseded it)."""
