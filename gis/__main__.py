"""``python -m gis``: the RiverGrid command line."""

import sys

from gis.cli import main

sys.exit(main())
