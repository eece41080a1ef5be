"""Shared by the benchmark scripts: describe the machine and replace one section of BENCHMARKS.md."""
from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def header(title: str) -> list[str]:
    """Title, the exact command that produced the section, machine and date."""
    command = shlex.join([".venv/bin/python", os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    return [f"## {title}", "", f"Command: `{command}`  ", f"Machine: {machine()}  ",
            f"Date: {datetime.date.today().isoformat()}", ""]


def write_section(key: str, lines: list[str]) -> None:
    """Put `lines` between this section's markers in BENCHMARKS.md (appending the section if new)."""
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    section = "\n".join([begin, *lines, end])
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
