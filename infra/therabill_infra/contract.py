"""Loads the shared names module (functions/therabill/contract.py) by file path.

infra/ must never import runtime code, and importing ``therabill`` as a package would run its
``__init__`` and pull the runtime onto the CDK app's path. The contract is plain data with
standard-library imports only, so it is executed on its own under a private module name.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from therabill_infra.paths import CONTRACT_FILE

_MODULE_NAME = "_therabill_contract"


@cache
def load_contract() -> ModuleType:
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, CONTRACT_FILE)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the shared contract from {CONTRACT_FILE}")
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve the module of a class through sys.modules while it is being created.
    sys.modules[_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


contract = load_contract()
