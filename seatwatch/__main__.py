"""`python -m seatwatch`: the same command line as the `seatwatch` script."""

import sys

from seatwatch.cli import main

sys.exit(main())
