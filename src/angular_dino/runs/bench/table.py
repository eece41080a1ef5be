"""The comparison tables, built from whatever cell files exist.

Per method: mean ± std over its done cells of AUROC (all, seen, unseen), AUPRC (all) and training
time, with the count of done / expected cells; per normal class: AUROC (all). A cell that has not
run is shown as missing and one that failed as failed, never dropped silently: a mean over fewer
cells than expected is marked partial (`*`). While the sweep is partial, a paired table compares the
methods on the splits that all of them have done (methods with no done cell left out), since partial
means may cover different splits. The std is the population std (numpy's default, ddof 0),
so one cell has std 0; with several seeds the table also gives the std over seeds of the per-seed
means (how much the headline moves with the seed). Every method is compared with the first one on
the cells both have done: per-cell differences, wins and losses, a sign test and a Wilcoxon
signed-rank test. A bench with groups gets one set of tables per group.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats as scipy_stats

from angular_dino.runs.bench.cells import DONE, FAILED, first_line
from angular_dino.runs.bench.spec import BenchPlan, Cell
from angular_dino.storage import save_text

# column name -> path of the figure in result.json
FIGURES = {"auroc_all": ("auroc", "all"), "auroc_seen": ("auroc", "seen"), "auroc_unseen": ("auroc", "unseen"),
           "auprc_all": ("auprc", "all"), "train_seconds": ("train_seconds",)}
TITLES = {"auroc_all": "AUROC all", "auroc_seen": "AUROC seen", "auroc_unseen": "AUROC unseen",
          "auprc_all": "AUPRC all", "train_seconds": "train s"}
PARTIAL = "*"


def figure(result: Mapping[str, Any], path: Sequence[str]) -> float | None:
    value: Any = result
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return None if value is None else float(value)


def mean_std(values: Sequence[float]) -> tuple[float, float] | None:
    return (float(np.mean(values)), float(np.std(values))) if values else None


@dataclass(frozen=True)
class Group:
    """The cells of one table entry (a method, or a method and a normal class) and what became of them."""
    expected: int
    results: tuple[Mapping[str, Any], ...]  # of the done cells
    failed: int

    @property
    def complete(self) -> bool:
        return len(self.results) == self.expected

    def stats(self, name: str) -> tuple[float, float] | None:
        return mean_std([v for r in self.results if (v := figure(r, FIGURES[name])) is not None])

    def seed_std(self, name: str) -> float | None:
        """The std over seeds of the per-seed means, when the done cells span several seeds."""
        by_seed: dict[Any, list[float]] = {}
        for result in self.results:
            if (value := figure(result, FIGURES[name])) is not None:
                by_seed.setdefault(result.get("seed"), []).append(value)
        return float(np.std([np.mean(v) for v in by_seed.values()])) if len(by_seed) > 1 else None

    def text(self, name: str, digits: int) -> str:
        """`mean ± std` (`*` when partial), or why there is no number."""
        if not self.results:
            return "failed" if self.failed else "missing"
        stats = self.stats(name)
        if stats is None:
            return "n/a"
        spread = f" ± {stats[1]:.{digits}f}" if self.expected > 1 else ""
        return f"{stats[0]:.{digits}f}{spread}{'' if self.complete else ' ' + PARTIAL}"

    @property
    def count_text(self) -> str:
        return f"{len(self.results)}/{self.expected}" + (f", {self.failed} failed" if self.failed else "")


def _group(cells: Sequence[Cell], records: Mapping[Cell, Mapping[str, Any]]) -> Group:
    status = [records[c]["status"] if c in records else None for c in cells]
    results = tuple(records[c]["result"] for c, s in zip(cells, status) if s == DONE)
    return Group(len(cells), results, status.count(FAILED))


def _class_columns(cells: Sequence[Cell]) -> dict[str, tuple[str, int, int | None]]:
    """Column title -> (dataset, normal class, unseen class), in the bench's order."""
    several = len({cell.dataset for cell in cells}) > 1
    columns = {}
    for cell in cells:
        unseen = "none" if cell.unseen_anomaly_class is None else cell.unseen_anomaly_class
        title = f"{cell.dataset + ' ' if several else ''}c{cell.normal_class}/u{unseen}"
        columns[title] = (cell.dataset, cell.normal_class, cell.unseen_anomaly_class)
    return columns


@dataclass(frozen=True)
class PairedTest:
    """One method against the reference (the bench's first method) on the cells both have done."""
    differences: tuple[float, ...]  # method − reference, AUROC (all), one per shared cell

    def text(self) -> str:
        d = np.asarray(self.differences)
        wins, losses = int((d > 0).sum()), int((d < 0).sum())
        sign_p = scipy_stats.binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
        wilcoxon_p = scipy_stats.wilcoxon(d).pvalue if (d != 0).any() else 1.0
        return f"| {len(d)} | {d.mean():+.4f} | {wins}/{losses}/{len(d) - wins - losses} | {sign_p:.3f} | {wilcoxon_p:.3f} |"


def paired_tests(plan_cells: Sequence[Cell], methods: Sequence[str],
                 records: Mapping[Cell, Mapping[str, Any]]) -> dict[str, PairedTest]:
    """Each method after the first against the first, cell by cell (same split, same seed)."""
    def aurocs(method: str) -> dict[str, float]:
        return {cell.split_name: value for cell in plan_cells if cell.method == method
                and records.get(cell, {}).get("status") == DONE
                and (value := figure(records[cell]["result"], FIGURES["auroc_all"])) is not None}

    reference = aurocs(methods[0])
    tests = {}
    for method in methods[1:]:
        own = aurocs(method)
        tests[method] = PairedTest(tuple(own[s] - reference[s] for s in sorted(own.keys() & reference.keys())))
    return tests


@dataclass(frozen=True)
class Tables:
    methods: dict[str, Group]
    per_class: dict[str, dict[str, Group]]  # method -> column title -> group
    failures: dict[str, str]  # cell key -> first line of its error
    paired: dict[str, Group]  # method with a done cell -> its cells on the splits that all such methods have done
    splits: tuple[int, int]  # (splits that all methods with a done cell have done, all splits)
    against_first: dict[str, PairedTest]  # method -> its paired comparison with the first method

    def markdown(self) -> str:
        several_seeds = any(g.seed_std("auroc_all") is not None for g in self.methods.values())
        extra = " AUROC all, std over seeds |" if several_seeds else ""
        lines = ["| method | cells | " + " | ".join(TITLES.values()) + f" |{extra}",
                 "|---|---|" + "---|" * (len(TITLES) + several_seeds)]
        for method, group in self.methods.items():
            texts = [group.text(name, 1 if name == "train_seconds" else 4) for name in FIGURES]
            if several_seeds:
                spread = group.seed_std("auroc_all")
                texts.append("" if spread is None else f"{spread:.4f}")
            lines.append(f"| {method} | {group.count_text} | " + " | ".join(texts) + " |")
        columns = list(next(iter(self.per_class.values())))
        lines += ["", "AUROC (all) per normal class (c) and unseen anomaly class (u):", "",
                  "| method | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        for method, groups in self.per_class.items():
            lines.append(f"| {method} | " + " | ".join(groups[c].text("auroc_all", 4) for c in columns) + " |")
        lines += ["", f"mean ± std (population std) over the done cells; {PARTIAL} = partial: some of the method's "
                      "cells are missing or failed, so the mean covers only the done ones."]
        common, total = self.splits
        if common and common < total:  # partial means cover different splits: compare them on the same ones
            names = ("auroc_all", "auroc_seen", "auroc_unseen")
            lines += ["", f"Paired: on the {common} of {total} splits that every method with a done cell has done:", "",
                      "| method | " + " | ".join(TITLES[n] for n in names) + " |", "|---|" + "---|" * len(names)]
            lines += [f"| {method} | " + " | ".join(group.text(n, 4) for n in names) + " |"
                      for method, group in self.paired.items()]
        if any(test.differences for test in self.against_first.values()):
            first = next(iter(self.methods))
            lines += ["", f"Each method against `{first}`, cell by cell, on the cells both have done (AUROC all; "
                          f"difference = method − "
                          f"{first}; wins/losses/ties of the method; two-sided sign test and Wilcoxon signed-rank "
                          "test p-values):", "",
                      "| method | cells | mean difference | wins/losses/ties | sign p | Wilcoxon p |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {method} " + test.text() for method, test in self.against_first.items() if test.differences]
        if self.failures:
            lines += ["", "Failed cells (the full errors are in their cell files):", ""]
            lines += [f"- `{key}`: {error}" for key, error in self.failures.items()]
        return "\n".join(lines) + "\n"

    def methods_csv(self) -> str:
        header = ["method", "cells_done", "cells_failed", "cells_expected", "complete"]
        header += [f"{name}_{part}" for name in FIGURES for part in ("mean", "std")]
        rows = []
        for method, group in self.methods.items():
            row = [method, len(group.results), group.failed, group.expected, group.complete]
            for name in FIGURES:
                stats = group.stats(name)
                row += list(stats) if stats else ["", ""]
            rows.append(row)
        return _csv([header, *rows])

    def per_class_csv(self) -> str:
        columns = list(next(iter(self.per_class.values())))
        rows = [["method", *columns]]
        for method, groups in self.per_class.items():
            rows.append([method, *(_csv_value(groups[c]) for c in columns)])
        return _csv(rows)


def _csv_value(group: Group) -> str | float:
    """Mean AUROC (all) over the done seeds; `missing` or `failed` when there is none."""
    if not group.results:
        return "failed" if group.failed else "missing"
    stats = group.stats("auroc_all")
    return "n/a" if stats is None else stats[0]


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def build_tables(plan: BenchPlan, records: Mapping[Cell, Mapping[str, Any]], group: str = "") -> Tables:
    """The tables of one group's cells (of all cells, in a bench without groups)."""
    plan_cells = [cell for cell in plan.cells if cell.group == group]
    columns = _class_columns(plan_cells)
    methods, per_class = {}, {}
    for method in plan.methods:
        cells = [cell for cell in plan_cells if cell.method == method]
        methods[method] = _group(cells, records)
        per_class[method] = {title: _group([c for c in cells if (c.dataset, c.normal_class, c.unseen_anomaly_class)
                                            == coordinates], records)
                             for title, coordinates in columns.items()}
    failures = {cell.key: first_line(record.get("error")) for cell, record in records.items()
                if record["status"] == FAILED and cell.group == group}
    done = {cell for cell, record in records.items() if record["status"] == DONE and cell.group == group}
    started = [method for method in plan.methods if any(cell.method == method for cell in done)]
    splits: dict[str, list[Cell]] = {}
    for cell in plan_cells:
        if cell.method in started:  # a method with no done cell is all missing: it cannot pair with any split
            splits.setdefault(cell.split_name, []).append(cell)
    common = {name for name, cells in splits.items() if all(cell in done for cell in cells)}
    paired = {method: _group([c for c in plan_cells if c.method == method and c.split_name in common], records)
              for method in started}
    return Tables(methods, per_class, failures, paired, (len(common), len(splits)),
                  paired_tests(plan_cells, plan.methods, records))


def write_tables(plan: BenchPlan, records: Mapping[Cell, Mapping[str, Any]]) -> str:
    """Write table.md (every group's tables), and table.csv and per_class.csv per group (in the results folder, or
    in a folder per group); returns the markdown."""
    sections = [f"# Bench `{plan.name}`\n"]
    for group in plan.groups:
        tables = build_tables(plan, records, group)
        folder = plan.results_dir / group if group else plan.results_dir
        sections.append(f"## Group `{group}`\n\n{tables.markdown()}" if group else tables.markdown())
        save_text(tables.methods_csv(), folder / "table.csv")
        save_text(tables.per_class_csv(), folder / "per_class.csv")
    markdown = "\n".join(sections)
    save_text(markdown, plan.results_dir / "table.md")
    return markdown
