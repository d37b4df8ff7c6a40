"""The command line ``rsa-lineardyn`` (top layer: may import every other layer)."""

from .app import main

__all__ = ["main"]
