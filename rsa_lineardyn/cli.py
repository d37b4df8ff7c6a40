"""Command line: ``rsa-lineardyn <subcommand>``; see ``rsa-lineardyn --help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._validation import RSALinearDynError

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


def _load_example(name):
    import importlib.util

    path = EXAMPLES_DIR / f"{name}.py"
    if not path.exists():
        raise RSALinearDynError(f"example script {path} not found; run from a checkout of the repository.")
    spec = importlib.util.spec_from_file_location(f"rsa_lineardyn_example_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cmd_figure1(args):
    res = _load_example("figure1").run(out=Path(args.out_dir) / "figure1.png", lr=args.lr)
    return 0 if res["max_deviation"] < 0.1 else 1


def cmd_demo(args):
    print("== Figure 1: gradient descent vs the exact solution ==")
    return cmd_figure1(args)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="rsa-lineardyn",
        description="Exact learning dynamics of two-layer linear networks, as predictions for RSA.",
        epilog="examples:\n  rsa-lineardyn demo\n  rsa-lineardyn figure1 --out-dir out --lr 0.01",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--verbose", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("figure1", help="reproduce Figure 1 (simulation vs exact) into a PNG",
                       epilog="example:\n  rsa-lineardyn figure1 --out-dir out",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default="out")
    p.add_argument("--lr", type=float, default=0.01)
    p.set_defaults(func=cmd_figure1)
    p = sub.add_parser("demo", help="one-shot demo on the bundled data",
                       epilog="example:\n  rsa-lineardyn demo --out-dir out",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default="out")
    p.add_argument("--lr", type=float, default=0.01)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (RSALinearDynError, ValueError, TypeError, OSError) as exc:
        if args.verbose:
            raise
        print(f"rsa-lineardyn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
