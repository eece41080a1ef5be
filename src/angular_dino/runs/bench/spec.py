"""The bench YAML: which methods, datasets, classes and seeds, and the train config of every cell.

A cell's config is layered: the method's base config file, the bench's common `settings`, the
method's own `settings`, the cell's coordinates (method, dataset, classes, seed, run directory),
and `--set` overrides last. The PU split depends only on the dataset, the classes, the split sizes
and the seed, so the split sizes may be set only where they apply to every method alike (common
`settings`, `--set`): every method then trains and is tested on the same images.

`groups` make one bench of several sweeps (the development suite: full and small protocol, digits,
label budgets): each group names its own datasets, classes, seeds and shared settings on top of the
bench's, and gets a table of its own.
"""
from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from angular_dino.config import METHODS, Config, read_yaml_mapping
from angular_dino.errors import UserError
from angular_dino.runs.resolve import resolve_config

USUAL_UNSEEN = "usual"  # METHOD §2: u = 0, and u = 9 when c = 0
# Train keys that are a cell's coordinates: set by the bench key named here, never by settings.
AXIS_KEYS = {"method": "methods", "dataset": "datasets", "normal_class": "normal_classes",
             "unseen_anomaly_class": "unseen_class", "seed": "seeds", "output_dir": "runs_dir"}
# Train keys that change the PU split besides the coordinates: the same for every method.
SPLIT_SIZE_KEYS = ("n_unlabeled_normal", "n_unlabeled_anomaly", "n_positive", "n_test_normal", "n_test_seen",
                   "n_test_unseen", "val_fraction")
SPLIT_KEYS = ("dataset", "normal_class", "unseen_anomaly_class", "seed", *SPLIT_SIZE_KEYS)
BENCH_KEYS = ("name", "results_dir", "runs_dir", "datasets", "normal_classes", "unseen_class", "seeds",
              "settings", "methods", "groups")
GROUP_KEYS = ("datasets", "normal_classes", "unseen_class", "seeds", "settings")
METHOD_KEYS = ("method", "config", "settings")


@dataclass(frozen=True)
class MethodEntry:
    """One row of the table: a method with its base config file and settings."""
    label: str
    method: str
    config_file: str | None
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class SweepGroup:
    """One sweep of the bench: datasets x normal classes x seeds under shared settings ("" = the bench itself)."""
    name: str
    datasets: tuple[str, ...]
    normal_classes: tuple[int, ...]
    unseen_class: str | int | None
    seeds: tuple[int, ...]
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class BenchSpec:
    """The bench YAML's keys, checked."""
    name: str
    results_dir: str
    runs_dir: str
    groups: tuple[SweepGroup, ...]
    methods: tuple[MethodEntry, ...]


@dataclass(frozen=True)
class Cell:
    """One training run of the sweep, named by its coordinates."""
    method: str  # the MethodEntry label
    dataset: str
    normal_class: int
    unseen_anomaly_class: int | None
    seed: int
    group: str = ""  # the sweep group, in a bench with `groups`

    @property
    def split_name(self) -> str:
        unseen = "none" if self.unseen_anomaly_class is None else self.unseen_anomaly_class
        return f"{self.dataset}_c{self.normal_class}_u{unseen}_s{self.seed}"

    @property
    def folder(self) -> str:
        """The cell's folder below the bench's: its method, and its group when there are groups."""
        return f"{self.method}/{self.group}" if self.group else self.method

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.split_name}"


@dataclass(frozen=True)
class BenchPlan:
    """A validated bench: where its files go and every cell with its resolved train config."""
    name: str
    results_dir: Path
    runs_dir: Path
    methods: tuple[str, ...]  # labels, in the YAML's order
    cells: tuple[Cell, ...]
    configs: Mapping[Cell, Config]
    groups: tuple[str, ...] = ("",)  # in the YAML's order; ("",) for a bench without groups

    @property
    def cells_dir(self) -> Path:
        return self.results_dir / "cells"

    def cell_path(self, cell: Cell) -> Path:
        return self.cells_dir / cell.folder / f"{cell.split_name}.json"


def unseen_class_for(rule: str | int | None, normal_class: int) -> int | None:
    if rule == USUAL_UNSEEN:
        return 9 if normal_class == 0 else 0
    return rule


def _close_hint(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else f" Known keys: {', '.join(known)}."


def _int_list(raw: Mapping[str, Any], key: str, default: list[int] | None, errors: list[str],
              where: str = "") -> tuple[int, ...]:
    value = raw.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)):
        errors.append(f"{where}{key}: expected a non-empty list of whole numbers >= 0, got {value!r}")
        return ()
    if len(set(value)) != len(value):
        errors.append(f"{where}{key}: lists a value twice: {value!r}")
    return tuple(value)


def _mapping(value: Any, where: str, errors: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{where}: expected key: value pairs, got {value!r}")
        return {}
    return value


def _settings_errors(settings: Mapping[str, Any], where: str, allow_sizes: bool) -> list[str]:
    """Coordinates never come from settings; split sizes only from settings shared by every method."""
    errors = [f"{where}: `{key}` is set by the bench key `{AXIS_KEYS[key]}`, not by settings"
              for key in settings if key in AXIS_KEYS]
    if not allow_sizes:
        errors += [f"{where}: `{key}` changes the PU split; set it in the bench's common `settings` so that "
                   "every method uses the same split" for key in settings if key in SPLIT_SIZE_KEYS]
    return errors


def _method_entries(raw: Any, errors: list[str]) -> tuple[MethodEntry, ...]:
    if not isinstance(raw, dict) or not raw:
        errors.append("methods: expected a mapping of method names to their (optional) `config` and `settings`, "
                      "e.g. `methods: {angular_dino: {config: configs/fashion_mnist.yml}, iforest: {}}`; "
                      f"got {raw!r}")
        return ()
    entries = []
    for label, body in raw.items():
        where = f"methods.{label}"
        if not isinstance(label, str) or "/" in label:
            errors.append(f"{where}: a method's label names its folders: use a word without `/`")
        body = _mapping(body, where, errors)
        errors.extend(f"{where}: unknown key `{key}`.{_close_hint(str(key), METHOD_KEYS)}"
                      for key in body if key not in METHOD_KEYS)
        method = body.get("method", label)
        if method not in METHODS:
            errors.append(f"{where}: unknown method {method!r}; name the entry after a method "
                          f"({', '.join(METHODS)}) or give `method:`")
        config_file = body.get("config")
        if config_file is not None and not isinstance(config_file, str):
            errors.append(f"{where}.config: expected a path to a train config YAML, got {config_file!r}")
            config_file = None
        settings = _mapping(body.get("settings"), f"{where}.settings", errors)
        errors.extend(_settings_errors(settings, f"{where}.settings", allow_sizes=False))
        entries.append(MethodEntry(str(label), str(method), config_file, settings))
    return tuple(entries)


def _base_file(entry: MethodEntry, errors: list[str]) -> dict[str, Any]:
    """The method's base train config without its coordinates (the cell sets those)."""
    if entry.config_file is None:
        return {}
    try:
        raw = read_yaml_mapping(entry.config_file)
    except UserError as exc:
        errors.append(f"methods.{entry.label}.config: {exc}")
        return {}
    errors.extend(_settings_errors({k: v for k, v in raw.items() if k not in AXIS_KEYS},
                                   f"methods.{entry.label}.config ({entry.config_file})", allow_sizes=False))
    return {k: v for k, v in raw.items() if k not in AXIS_KEYS}


def _cell_config(cell: Cell, base: Mapping[str, Any], settings: Mapping[str, Any], entry: MethodEntry,
                 run_dir: Path, overrides: Mapping[str, Any]) -> Config:
    layers = {**settings, **entry.settings, "method": entry.method, "dataset": cell.dataset,
              "normal_class": cell.normal_class, "unseen_anomaly_class": cell.unseen_anomaly_class,
              "seed": cell.seed, "output_dir": str(run_dir), **overrides}
    return resolve_config(base, layers)[0]


def _read_spec(raw: Mapping[str, Any], path: Path, errors: list[str]) -> BenchSpec:
    errors += [f"unknown bench key `{key}`.{_close_hint(str(key), BENCH_KEYS)}" for key in raw if key not in BENCH_KEYS]
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name or "/" in name:
        errors.append(f"name: expected a word naming the bench (no `/`), got {name!r}")
        name = path.stem
    folders = {}
    for key, default in (("results_dir", f"benchmarks/results/{name}"), ("runs_dir", f"runs/bench/{name}")):
        folders[key] = raw.get(key, default)
        if not isinstance(folders[key], str) or not folders[key]:
            errors.append(f"{key}: expected a folder path, got {folders[key]!r}")
    top = _sweep_group("", raw, None, errors, classes_required=raw.get("groups") is None)
    groups = [top]
    if raw.get("groups") is not None:
        bodies = _mapping(raw["groups"], "groups", errors)
        if not bodies:
            errors.append("groups: expected at least one group, e.g. `groups: {small: {settings: {n_positive: 40}}}`")
        groups = [_group_entry(label, body, top, errors) for label, body in bodies.items()]
    return BenchSpec(name, folders["results_dir"], folders["runs_dir"], tuple(groups),
                     _method_entries(raw.get("methods"), errors))


def _group_entry(label: Any, body: Any, top: SweepGroup, errors: list[str]) -> SweepGroup:
    where = f"groups.{label}"
    if not isinstance(label, str) or "/" in label or not label:
        errors.append(f"{where}: a group's label names its folders: use a word without `/`")
    body = _mapping(body, where, errors)
    errors.extend(f"{where}: unknown key `{key}`.{_close_hint(str(key), GROUP_KEYS)}"
                  for key in body if key not in GROUP_KEYS)
    return _sweep_group(str(label), body, top, errors, classes_required=not top.normal_classes)


def _sweep_group(label: str, raw: Mapping[str, Any], parent: SweepGroup | None, errors: list[str], *,
                 classes_required: bool) -> SweepGroup:
    """A sweep from its own keys, else its parent's (a group's parent is the bench's top level)."""
    where = f"groups.{label}." if label else ""
    datasets = raw.get("datasets", list(parent.datasets) if parent else ["fashion_mnist"])
    datasets = [datasets] if isinstance(datasets, str) else datasets
    if not isinstance(datasets, list) or not datasets or not all(isinstance(d, str) for d in datasets):
        errors.append(f"{where}datasets: expected a list of dataset names, got {datasets!r}")
        datasets = []
    rule = raw.get("unseen_class", parent.unseen_class if parent else USUAL_UNSEEN)
    if rule != USUAL_UNSEEN and rule is not None and (not isinstance(rule, int) or isinstance(rule, bool) or rule < 0):
        errors.append(f"{where}unseen_class: expected `usual` (u = 0, and 9 when the normal class is 0), a class "
                      f"number or null (no unseen class), got {rule!r}")
    settings = _mapping(raw.get("settings"), f"{where}settings", errors)
    errors += _settings_errors(settings, f"{where}settings", allow_sizes=True)
    if "normal_classes" in raw or classes_required:
        classes = _int_list(raw, "normal_classes", None, errors, where)
    else:
        classes = parent.normal_classes if parent else ()
    seeds = _int_list(raw, "seeds", [0], errors, where) if "seeds" in raw or parent is None else parent.seeds
    return SweepGroup(label, tuple(datasets), classes, rule, seeds,
                      {**(parent.settings if parent else {}), **settings})


def _cell_configs(spec: BenchSpec, overrides: Mapping[str, Any], errors: list[str]) -> dict[Cell, Config]:
    """Every cell's resolved train config; a problem shared by many cells is reported once."""
    configs: dict[Cell, Config] = {}
    problems: dict[str, list[str]] = {}  # message -> cells it concerns
    bases = {entry.label: _base_file(entry, errors) for entry in spec.methods}
    # split by split, every method in turn: an unfinished sweep has whole rows of the per-class table
    for group in spec.groups:
        for dataset, normal_class, seed, entry in itertools.product(group.datasets, group.normal_classes, group.seeds,
                                                                     spec.methods):
            cell = Cell(entry.label, dataset, normal_class, unseen_class_for(group.unseen_class, normal_class), seed,
                        group.name)
            try:
                configs[cell] = _cell_config(cell, bases[entry.label], group.settings, entry,
                                             Path(spec.runs_dir) / cell.key, overrides)
            except UserError as exc:
                for line in str(exc).removeprefix("invalid configuration:").strip().splitlines():
                    problems.setdefault(line.strip(), []).append(cell.key)
    errors += [f"{cells[0]}{f' (and {len(cells) - 1} more cells)' if len(cells) > 1 else ''}: {message}"
               for message, cells in problems.items()]
    return configs


def load_bench(path: str | Path, overrides: Mapping[str, Any] | None = None) -> BenchPlan:
    """Read and validate a bench YAML; `overrides` (from `--set`) apply to every cell.

    Every cell's config is built here, so any problem is reported before anything runs.
    """
    path = Path(path)
    errors: list[str] = []
    spec = _read_spec(read_yaml_mapping(path), path, errors)
    errors += _settings_errors(overrides or {}, "--set", allow_sizes=True)
    if not errors:
        configs = _cell_configs(spec, overrides or {}, errors)
    if errors:
        raise UserError(f"invalid bench configuration {path}:\n  " + "\n  ".join(errors))
    return BenchPlan(spec.name, Path(spec.results_dir), Path(spec.runs_dir), tuple(e.label for e in spec.methods),
                     tuple(configs), configs, tuple(group.name for group in spec.groups))
