"""Run the pending cells of a bench (this machine's shard), one process or several, then the tables.

Each cell trains through `angular_dino.runs.training_run.train`, so a cell interrupted half-way resumes from its
run directory's checkpoint. A cell that fails (bad input, a diverged loss, or a bug) is recorded as
failed and the sweep goes on with the other cells.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tqdm import tqdm

from angular_dino.config import DEVELOPMENT, Config
from angular_dino.errors import UserError
from angular_dino.runs.bench.cells import DONE, first_line, read_cells, shard_cells, write_cell
from angular_dino.runs.bench.spec import BenchPlan, Cell
from angular_dino.runs.bench.table import write_tables
from angular_dino.runtime.interrupts import TrainingStopped

CellRunner = Callable[[Config, bool], dict[str, Any]]  # (config, quiet) -> result.json's content


def train_cell(config: Config, quiet: bool) -> dict[str, Any]:
    from angular_dino.runs.training_run import train  # imported here: the table commands need no torch start-up

    return train(config, quiet=quiet)


@dataclass(frozen=True)
class Outcome:
    cell: Cell
    result: dict[str, Any] | None
    error: str | None

    def line(self) -> str:
        if self.result is None:
            return f"FAILED {self.cell.key}: {first_line(self.error)}"
        auroc = self.result.get("auroc", {}).get("all")
        shown = "n/a" if auroc is None else f"{auroc:.4f}"
        where = "dev AUROC" if self.result.get("evaluated_on") == DEVELOPMENT else "AUROC"
        return f"done   {self.cell.key}: {where} {shown}, train {self.result.get('train_seconds', 0):.0f} s"


@dataclass(frozen=True)
class BenchReport:
    outcomes: list[Outcome]
    markdown: str

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result is None]


def run_cell(cell: Cell, config: Config, path: Path, quiet: bool, runner: CellRunner) -> Outcome:
    """Train one cell and write its file; a failure is recorded rather than raised (the sweep goes on), a stop
    signal is raised (the cell is left unrecorded, to resume)."""
    try:
        result = runner(config, quiet)
    except TrainingStopped:  # Ctrl-C / SIGTERM: the cell saved its checkpoint; the whole sweep stops
        raise
    except UserError as exc:  # bad input or a diverged run (TrainingDiverged): the message says it all
        error = str(exc)
    except Exception as exc:  # a bug: keep the traceback in the cell file for whoever fixes it
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    else:
        write_cell(path, cell, config, result=result)
        return Outcome(cell, result, None)
    write_cell(path, cell, config, error=error)
    return Outcome(cell, None, error)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def threads_per_job(jobs: int) -> int:
    """Torch threads per parallel cell, so that the cells together use each core once."""
    return max(1, available_cores() // jobs)


def run_bench(plan: BenchPlan, *, shard: tuple[int, int] = (1, 1), jobs: int = 1,
              methods: Sequence[str] | None = None, classes: Sequence[int] | None = None,
              groups: Sequence[str] | None = None, seeds: Sequence[int] | None = None, quiet: bool = False,
              runner: CellRunner = train_cell) -> BenchReport:
    """Train this shard's cells that are not done yet (of `methods`, normal `classes`, `groups` and `seeds` only,
    when given: the share wanted first in a long sweep), then write and print the tables of all cells."""
    if jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    wanted = {"methods": ("method", methods), "classes": ("normal_class", classes), "groups": ("group", groups),
              "seeds": ("seed", seeds)}
    for option, (attribute, values) in wanted.items():
        known = sorted({getattr(cell, attribute) for cell in plan.cells}, key=str)
        unknown = [value for value in values or () if value not in known]
        if unknown:
            raise UserError(f"--{option}: {', '.join(map(str, unknown))} is not one of bench {plan.name}'s "
                            f"{option} (they are: {', '.join(map(str, known))})")
    records = read_cells(plan)
    mine = [cell for cell in shard_cells(plan.cells, *shard)
            if all(not values or getattr(cell, attribute) in values for attribute, values in wanted.values())]
    pending = [cell for cell in mine if records.get(cell, {}).get("status") != DONE]
    print(f"bench {plan.name}: {len(plan.cells)} cells; shard {shard[0]}/{shard[1]} has {len(mine)}, "
          f"{len(mine) - len(pending)} done, {len(pending)} to run", file=sys.stderr)
    jobs = min(jobs, max(1, len(pending)))  # fewer cells than jobs: the cores go to the cells there are
    threads = threads_per_job(jobs)
    work = [(cell, dataclasses.replace(plan.configs[cell], num_threads=plan.configs[cell].num_threads or threads),
             plan.cell_path(cell)) for cell in pending]
    outcomes: list[Outcome] = []
    with tqdm(total=len(work), unit="cell", desc="cells", dynamic_ncols=True, file=sys.stderr) as bar:
        for outcome in _run_all(work, jobs, quiet or jobs > 1, runner):  # several runs' bars would interleave
            outcomes.append(outcome)
            bar.write(outcome.line(), file=sys.stderr)
            bar.update()
    report = BenchReport(outcomes, write_tables(plan, read_cells(plan)))
    print(report.markdown)
    if report.failed:
        print(f"{len(report.failed)} cells failed; their errors are in their cell files under {plan.cells_dir}; "
              "running bench again retries them", file=sys.stderr)
    return report


def _run_all(work: list[tuple[Cell, Config, Path]], jobs: int, quiet: bool, runner: CellRunner) -> Iterator[Outcome]:
    """Outcomes in the order the cells finish: in this process, or in `jobs` spawned processes."""
    if jobs == 1:
        for cell, config, path in work:
            yield run_cell(cell, config, path, quiet, runner)
        return
    # spawn, not fork: a forked child would inherit torch's thread pools in an undefined state
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(run_cell, cell, config, path, quiet, runner) for cell, config, path in work]
        for future in as_completed(futures):
            yield future.result()
    except BrokenProcessPool:
        raise UserError("a cell's process died (out of memory?); the finished cells are kept: run bench again "
                        "to continue, with fewer --jobs if memory is short") from None
    finally:  # on Ctrl-C or an error, queued cells must not start
        pool.shutdown(wait=True, cancel_futures=True)


def merge(plan: BenchPlan) -> str:
    """Build, write and print the tables from whatever cell files exist."""
    markdown = write_tables(plan, read_cells(plan))
    known = {plan.cell_path(cell) for cell in plan.cells}
    others = [p for p in plan.cells_dir.rglob("*.json") if p not in known] if plan.cells_dir.is_dir() else []
    if others:
        print(f"note: {len(others)} cell files under {plan.cells_dir} are not cells of this bench and were left out "
              f"(e.g. {others[0]})", file=sys.stderr)
    print(markdown)
    return markdown
