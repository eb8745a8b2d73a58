"""``python -m symsme`` runs the command line (:mod:`symsme.cli`)."""

import sys

from symsme.cli import main

sys.exit(main())
