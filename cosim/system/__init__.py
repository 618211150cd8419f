"""System level: capacity and (to come, issue 3) mapping, energy, area and latency of whole models."""
