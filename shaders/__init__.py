"""GLSL sources used by demos, benchmarks and tests (installs as glcoherent.shaders)."""

from pathlib import Path

SHADER_DIR = Path(__file__).resolve().parent


def load(name: str) -> str:
    """The text of shaders/<name>."""
    return (SHADER_DIR / name).read_text()
