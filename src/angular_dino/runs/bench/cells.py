"""One JSON file per cell, and the deterministic share of cells each machine runs.

A cell file is written atomically when its run ends: `status: done` with the run's result, or
`status: failed` with the error. Done cells are skipped by later runs (failed ones are tried
again); a done cell made with other settings than the bench's now is refused rather than mixed
into the table, as `train` refuses a run directory holding a different run.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

from angular_dino.config import Config
from angular_dino.errors import UserError
from angular_dino.runs.bench.spec import BenchPlan, Cell
from angular_dino.runs.run_dir import setting_differences
from angular_dino.storage import save_json

CELL_FORMAT = "angular_dino.bench_cell/1"
DONE, FAILED = "done", "failed"


def write_cell(path: Path, cell: Cell, config: Config, *, result: dict[str, Any] | None = None,
               error: str | None = None) -> None:
    """Record a finished cell: its coordinates, settings, and result (or the error that stopped it)."""
    record = {"format": CELL_FORMAT, "key": cell.key, "method": cell.method, "dataset": cell.dataset,
              "normal_class": cell.normal_class, "unseen_anomaly_class": cell.unseen_anomaly_class,
              "seed": cell.seed, "status": FAILED if result is None else DONE, "config": config.to_dict()}
    record.update({"result": result} if result is not None else {"error": error})
    save_json(record, path)


def first_line(error: str | None) -> str:
    """The message of a recorded error, without the traceback kept for bugs."""
    return (error or "").partition("\n")[0]


def read_cell(path: Path) -> dict[str, Any] | None:
    """The cell's record, or None when the cell has not run yet."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cell file {path} is unreadable ({exc}); delete it so that the cell runs again") from None
    is_cell = isinstance(record, dict) and record.get("format") == CELL_FORMAT
    if not is_cell or record.get("status") not in (DONE, FAILED):
        raise UserError(f"{path} is not an AngularDINO bench cell file; move it out of the cells folder")
    return record


def read_cells(plan: BenchPlan) -> dict[Cell, dict[str, Any]]:
    """Records of the bench's cells that have run; refuses done cells made with other settings."""
    records = {cell: record for cell in plan.cells if (record := read_cell(plan.cell_path(cell))) is not None}
    stale = [(cell, differences) for cell, record in records.items() if record["status"] == DONE
             and (differences := setting_differences(record.get("config", {}), plan.configs[cell],
                                                     shared_keys_only=True))]
    if stale:
        cell, differences = stale[0]
        others = f" (and {len(stale) - 1} more cells)" if len(stale) > 1 else ""
        raise UserError(f"{plan.cell_path(cell)}{others} was made with other settings ({'; '.join(differences[:5])}). "
                        f"Use another results_dir for the new settings, or delete those cell files to run them again.")
    return records


def parse_shard(text: str) -> tuple[int, int]:
    """`i/n` (1 <= i <= n) -> (i, n)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UserError(f"--shard expects i/n with 1 <= i <= n (e.g. 1/3, 2/3, 3/3), got {text!r}")
    return int(match[1]), int(match[2])


def shard_cells(cells: Sequence[Cell], index: int, count: int) -> list[Cell]:
    """Shard `index` of `count`: every count-th cell in the sorted order of cell keys, so shards are disjoint,
    cover every cell, and do not depend on the order of the YAML; returned in the order of `cells` (the run
    order: split by split)."""
    mine = set(sorted(cells, key=lambda cell: cell.key)[index - 1::count])
    return [cell for cell in cells if cell in mine]
