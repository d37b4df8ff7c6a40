"""Exact solution (placeholder while being written)."""
def exact_dynamics(task, W1, W2, times, tau=1.0):
    raise NotImplementedError
def fixed_point(task, W1, W2):
    raise NotImplementedError
