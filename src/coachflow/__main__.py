"""``python -m coachflow``."""

import sys

from coachflow.cli import main

sys.exit(main())
