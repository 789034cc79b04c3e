"""Reference solutions of the graded exercises, one module per chapter.

They are written the way a good student would write them: short, explicit, numpy in and
numpy out. The rendered exercise pages show them (in collapsed dropdowns) straight from this
source, and the grading tests must pass on them.
"""
