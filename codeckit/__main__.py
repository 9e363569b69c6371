"""`python -m codeckit` runs the CLI."""

import sys

from codeckit.cli import main

sys.exit(main())
