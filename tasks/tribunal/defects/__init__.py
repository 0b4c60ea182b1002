"""Defect injectors for the tribunal benchmark (benchmarks/tribunal_defects.py): one kind per function, registered by name."""
