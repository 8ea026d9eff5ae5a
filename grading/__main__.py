"""``python -m grading ...`` works as the ``backprop-labs`` command."""
import sys

from grading.cli import main

sys.exit(main())
