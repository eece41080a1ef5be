"""`angular-dino suggest`: the run's most anomalous unlabeled training images (`runs/unlabeled.py`) as CSV."""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from angular_dino.data.prepare import prepare_pu_data
from angular_dino.errors import UserError
from angular_dino.runs.evaluate import read_run
from angular_dino.runs.unlabeled import Suggestions, suggest_unlabeled
from angular_dino.storage import save_text


def suggestions_csv(suggestions: Suggestions) -> str:
    """CSV `path|index,score,rank` (scores at full precision, rank 1 = most anomalous)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow((suggestions.column, "score", "rank"))
    writer.writerows((name, repr(float(score)), rank)
                     for rank, (name, score) in enumerate(zip(suggestions.names, suggestions.scores), start=1))
    return text.getvalue()


def suggest_run(run_dir: str | Path, n: int, out: str = "-") -> int:
    """Write the run's `n` most anomalous unlabeled training images as CSV to `out` (a file, or "-" for stdout);
    returns the number of rows."""
    if n < 1:
        raise UserError(f"--n must be at least 1 (the number of images to suggest); got {n}")
    config, detector, _ = read_run(Path(run_dir))
    suggestions = suggest_unlabeled(detector, prepare_pu_data(config), n)
    text = suggestions_csv(suggestions)
    if out == "-":
        sys.stdout.write(text)
    else:
        save_text(text, Path(out))
    return len(suggestions.names)
