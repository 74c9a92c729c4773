"""Benchmarks: python -m glcoherent bench."""
