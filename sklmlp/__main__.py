"""``python -m sklmlp``: see :mod:`sklmlp.cli`."""

import sys

from sklmlp.cli import main

if __name__ == "__main__":
    sys.exit(main())
