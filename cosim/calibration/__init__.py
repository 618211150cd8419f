"""Calibration: sweep circuits in ngspice, fit behavioral models, store tables with provenance."""
