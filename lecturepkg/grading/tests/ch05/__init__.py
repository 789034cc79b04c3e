"""Grading tests of chapter 5, "Case study: Mask R-CNN"."""
