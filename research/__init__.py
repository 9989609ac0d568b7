"""Experiments on the bundled organism that did not ship (see README.md); not part of the wheel."""
