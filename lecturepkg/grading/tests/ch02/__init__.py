"""Grading tests of chapter 2, "A typology of convolutions"."""
