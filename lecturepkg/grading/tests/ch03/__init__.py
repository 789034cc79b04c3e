"""Grading tests of chapter 3, "Building blocks and famous architectures"."""
