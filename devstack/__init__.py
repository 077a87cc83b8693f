"""The local system: emulators, a local API Gateway, a local scheduler, seeding and the demo.

Importing any ``devstack`` module makes the runtime package (``functions/therabill``) importable,
so ``python -m devstack.run`` works from the project root without installing anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_ROOT / "functions"

if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.append(str(FUNCTIONS_DIR))
