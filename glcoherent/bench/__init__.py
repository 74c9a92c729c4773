"""Benchmarks: python -m glcoherent bench."""

import os

# The bench times a GL driver that runs threads of its own, on machines with few cores: numpy
# (loaded by the Python front end) must not start BLAS threads that spin beside it; nothing
# here computes with BLAS. Only effective before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
