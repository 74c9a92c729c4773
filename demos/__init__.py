"""Demos: python -m glcoherent demo NAME (this folder installs as glcoherent.demos)."""
