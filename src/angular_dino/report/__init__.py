"""Plots and report.html of a finished run (see `write_report`)."""
from angular_dino.report.inputs import ReportInputs, ScoredImages
from angular_dino.report.writer import write_report

__all__ = ["ReportInputs", "ScoredImages", "write_report"]
