"""``python -m rsa_lineardyn.cli``: the same as the ``rsa-lineardyn`` command."""

import sys

from .app import main

if __name__ == "__main__":
    sys.exit(main())
