"""The documented ``rl.inference.<module>.<constant>`` spellings work in a fresh interpreter (lazy submodules)."""

import subprocess
import sys


def test_inference_modules_reachable_as_attributes_in_a_fresh_interpreter():
    code = ("import rsa_lineardyn as rl\n"
            "print(rl.inference.fitting.FLAT_TOL, rl.inference.fitting.MAJORITY, rl.inference.fitting.SPREAD_FRACTION,"
            " rl.inference.crossval.MC_GROUPS)\n"
            "try:\n    rl.inference.no_such_module\nexcept AttributeError as e:\n    print('refused', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0].split() == ["0.001", "0.8", "0.5", "4"]
    assert out[1].startswith("refused") and "no_such_module" in out[1]
