"""Behavioral models — numpy/scipy only; never import PySpice or anything above this layer."""
