"""Runs of detectors on PU splits: train (one flow for every method), evaluate, score, bench."""
