"""Judging a ranking of heads: ROC AUC and F1 against a known circuit, the benchmark that
runs every method side by side, and the altair charts that draw both."""
