"""Bit-for-bit check of the current trainers against the trainer of ``BASE`` (marked slow:
about a minute on two cores). Needs git and the commit."""

from __future__ import annotations

import subprocess

import pytest

from research import check_shipped_recipe as C
from research import organism_switches as R

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def old():
    try:
        return C.old_trainer(C.BASE)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        pytest.skip(f"the old trainer is not available here: {e}")


def test_every_case_is_bitwise_equal(old, capsys):
    assert C.main(["--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert out.count("every parameter bitwise equal") == 2 + len(C.switch_cases(old, C.REPO))


def test_the_check_sees_a_different_switch(old):
    diff = C.run_switch(old, dict(head_dropout=0.1), {}, R.Switches(head_dropout=0.2), steps=3, seed=1)
    assert diff
