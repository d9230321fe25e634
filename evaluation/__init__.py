"""Clustering quality: labelled datasets, metrics, the harness that runs the real service,
threshold sweeps, plots and per-model calibration (`storyline eval`, `storyline calibrate`)."""
