"""Grading tests of chapter 4, "What does the network look at?"."""
