"""`angular-dino bench`: methods × datasets × normal classes × seeds on identical PU splits, one table.

spec.py reads the bench YAML and resolves every cell's train config; cells.py stores one JSON per
cell and shares the cells between machines; runner.py trains the pending cells (in parallel
processes if asked); table.py builds the comparison tables from whatever cells exist.
"""
from angular_dino.runs.bench.runner import merge, run_bench
from angular_dino.runs.bench.spec import BenchPlan, Cell, load_bench

__all__ = ["BenchPlan", "Cell", "load_bench", "merge", "run_bench"]
