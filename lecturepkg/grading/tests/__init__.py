"""Grading tests shipped inside lecturepkg, so that a student on Colab has them too."""
