"""``python -m autograder.similarity <assignment> SUBMISSIONS --out DIR`` (same as ``course similarity``)."""

import sys

from autograder.similarity.cli import main

sys.exit(main())
