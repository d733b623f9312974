"""The container's entry point: the runner starts this with the action's environment."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ghaction_metrics.action import main

if __name__ == "__main__":
    sys.exit(main(os.environ, sys.stdout))
