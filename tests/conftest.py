import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for tests/_reference.py

import rsa_lineardyn as rl  # noqa: E402


def random_white_task(n_in, n_out, seed=0, strength=0.7):
    """Whitened one-hot inputs (P = n_in items) and Gaussian targets."""
    rng = np.random.default_rng(seed)
    X = np.eye(n_in) * np.sqrt(n_in)
    Y = rng.standard_normal((n_out, n_in)) * np.sqrt(n_in) * strength
    return rl.Task(X, Y, name=f"random{n_in}x{n_out}")


@pytest.fixture
def make_task():
    return random_white_task
