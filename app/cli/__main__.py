"""`python -m app.cli`: the `storyline` command without the installed script."""

import sys

from app.cli import main

sys.exit(main())
