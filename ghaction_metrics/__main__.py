"""``python -m ghaction_metrics``: see cli.py."""

import sys

from ghaction_metrics.cli import main

if __name__ == "__main__":
    sys.exit(main())
