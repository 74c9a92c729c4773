"""`python -m glcoherent demo [NAME] [options]`: registered by glcoherent/cli.py."""

from __future__ import annotations

import argparse
import importlib

from glcoherent.demos import _common

# name -> (module, one line of help)
DEMOS = {
    "particles": ("glcoherent.demos.particles",
                  "particles streamed through a persistent coherent vertex ring with fences"),
    "compute": ("glcoherent.demos.compute",
                "a compute shader writes a coherent READ buffer; the CPU checks it after fences"),
    "texture-stream": ("glcoherent.demos.texture_stream",
                       "texture updates streamed through a persistent PIXEL_UNPACK buffer"),
    "query-poll": ("glcoherent.demos.query_poll",
                   "occlusion-query results in a coherent buffer, polled without a fence "
                   "(as wined3d does)"),
    "wow64": ("glcoherent.demos.wow64",
              "particles whose vertices i386 code writes in compatibility mode (as WoW64 "
              "runs 32-bit games)"),
}
DEFAULT = "particles"


def add_parser(subparsers) -> argparse.ArgumentParser:
    epilog = "demos:\n" + "\n".join(f"  {name:<15} {text}" for name, (_, text) in DEMOS.items())
    p = subparsers.add_parser(
        "demo", help="run a demo (particles, compute, texture-stream, query-poll, wow64)",
        description="Run a demo: a glfw window when a display exists, headless EGL otherwise. "
                    "It prints the addresses glcoherent handed out, statistics and a verdict "
                    "line (OK:/FAIL:); the exit code is 0 only for OK.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", default=DEFAULT, choices=list(DEMOS), metavar="NAME",
                   help=f"which demo (default {DEFAULT})")
    _common.add_arguments(p)
    p.set_defaults(func=main)
    return p


def load(name: str):
    """The Demo class of a demo."""
    return importlib.import_module(DEMOS[name][0]).Demo


def main(args: argparse.Namespace) -> int:
    return _common.run(load(args.name), args)
