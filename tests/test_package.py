"""The package's top level: every public name resolves, widgets load only when used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sae_circuits_widget


def test_every_public_name_resolves():
    for name in sae_circuits_widget.__all__:
        assert getattr(sae_circuits_widget, name) is not None, name
    assert set(sae_circuits_widget.__all__) <= set(dir(sae_circuits_widget))


def test_widgets_are_the_widget_classes():
    from sae_circuits_widget import CircuitExplorer, CodeInspector, HeadGrid, PromptPanel
    from sae_circuits_widget import widgets

    assert (CircuitExplorer, CodeInspector, HeadGrid, PromptPanel) == (
        widgets.CircuitExplorer, widgets.CodeInspector, widgets.HeadGrid, widgets.PromptPanel,
    )


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'CircuitExplorr'"):
        sae_circuits_widget.CircuitExplorr  # noqa: B018


def test_import_does_not_load_the_widget_stack():
    code = (
        "import sys, sae_circuits_widget as s\n"
        "heavy = ['anywidget', 'ipywidgets', 'altair', 'sae_circuits_widget.widgets']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "s.CircuitExplorer\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.strip().splitlines()
    assert before == "[]"
    assert "anywidget" in after and "sae_circuits_widget.widgets" in after
