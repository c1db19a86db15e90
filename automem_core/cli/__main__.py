"""``python -m automem_core.cli``: the ``automem`` command."""

import sys

from automem_core.cli import main

sys.exit(main())
