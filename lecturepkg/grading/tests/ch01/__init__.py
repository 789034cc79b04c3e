"""Grading tests of chapter 1, "Convolution from first principles"."""
