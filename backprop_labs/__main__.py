"""``python -m backprop_labs ...`` works as the ``backprop-labs`` command (the package students install).

The one module of ``backprop_labs`` that imports ``grading``: an entry point, imported by nobody.
"""
import sys

from grading.cli import main

sys.exit(main())
