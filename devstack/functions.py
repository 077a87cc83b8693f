"""The local Lambda service: finds each function's handler and invokes it in-process.

Handlers are imported lazily by the handler path in ``therabill.contract.FUNCTIONS`` the first time
they are invoked, so the local system starts before (or without) every entry point existing, and
tests can swap any function for a stand-in with ``overrides``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from devstack.apigw import LambdaContext
from therabill import contract

log = logging.getLogger("devstack.functions")

Handler = Callable[[Any, Any], Any]
FUNCTION_NAME_PREFIX = "therabill-local-"


class FunctionNotFoundError(LookupError):
    """No function of that name (or for that ARN) exists in the contract."""


class HandlerUnavailableError(RuntimeError):
    """The function exists but its handler module cannot be imported (not written yet, or broken)."""


def spec_for(name: str) -> contract.FunctionSpec:
    for spec in contract.FUNCTIONS:
        if spec.name == name:
            return spec
    raise FunctionNotFoundError(name)


def local_function_name(name: str) -> str:
    return FUNCTION_NAME_PREFIX + name


def local_function_arn(name: str, region: str = "us-east-1", account: str = "123456789012") -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{local_function_name(name)}"


def function_name_for_arn(arn: str) -> str:
    """The contract function a Lambda ARN (or bare function name) designates.

    ``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``: the deployed name carries a
    stack prefix, so the function is the FunctionSpec whose name the deployed name ends with (the
    longest such name, so ``staff-api`` wins over a hypothetical ``api``).
    """
    parts = arn.split(":")
    if arn.startswith("arn:") and len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        deployed = parts[6]
    elif not arn.startswith("arn:"):
        deployed = arn
    else:
        raise FunctionNotFoundError(arn)
    matches = [spec.name for spec in contract.FUNCTIONS if deployed.endswith(spec.name)]
    if not matches:
        raise FunctionNotFoundError(arn)
    return max(matches, key=len)


def import_handler(path: str) -> Handler:
    """``therabill.entrypoints.staff_api.lambda_handler`` -> the function object."""
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerUnavailableError(f"cannot import {module_name}: {exc}") from exc
    try:
        handler: Handler = getattr(module, attribute)
    except AttributeError as exc:
        raise HandlerUnavailableError(f"{module_name} has no {attribute}") from exc
    return handler


class FunctionRegistry:
    """Invokes contract functions by name, the way Lambda would (event, context).

    By default one invocation runs at a time (``serialize=True``): Lambda gives each concurrent
    invocation its own container, but here every function shares one process, and process-wide
    state (Powertools' Logger keys and Metrics buffer, cached clients) would leak between
    invocations running side by side. Re-entrant calls from the same thread are allowed.
    """

    def __init__(self, overrides: Mapping[str, Handler] | None = None, *, serialize: bool = True) -> None:
        self._overrides = dict(overrides or {})
        self._cache: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._invoke_lock = threading.RLock() if serialize else None

    def set_override(self, name: str, handler: Handler | None) -> None:
        with self._lock:
            if handler is None:
                self._overrides.pop(name, None)
            else:
                self._overrides[name] = handler

    def handler(self, name: str) -> Handler:
        spec = spec_for(name)
        with self._lock:
            if name in self._overrides:
                return self._overrides[name]
            cached = self._cache.get(name)
        if cached is not None:
            return cached
        handler = import_handler(spec.handler)
        with self._lock:
            self._cache[name] = handler
        return handler

    def available(self, name: str) -> bool:
        try:
            self.handler(name)
        except HandlerUnavailableError:
            return False
        return True

    def context(self, name: str) -> LambdaContext:
        spec = spec_for(name)
        return LambdaContext(
            function_name=local_function_name(name),
            memory_limit_in_mb=spec.memory_mb,
            log_group_name=f"/aws/lambda/{local_function_name(name)}",
        )

    def invoke(self, name: str, event: Any) -> Any:
        """Run the function's handler with ``event``; exceptions propagate (as a failed invoke)."""
        handler = self.handler(name)
        if self._invoke_lock is None:
            return handler(event, self.context(name))
        with self._invoke_lock:
            return handler(event, self.context(name))
