"""`python -m benchmatrix`: the harness's command line (benchmatrix.cli)."""

import sys

from benchmatrix.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
