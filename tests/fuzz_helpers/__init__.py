"""Helpers of the reliability tests (test_fuzz.py, test_faults.py)."""
