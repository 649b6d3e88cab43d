"""Evaluation suite: datasets in the EVAL.md format, metrics, runners and reports."""
