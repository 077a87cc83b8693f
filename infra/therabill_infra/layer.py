"""The third-party dependency layer and the runtime it is built for.

``layers/build.sh`` installs the locked runtime dependencies into ``layers/build/python`` as
manylinux aarch64 wheels for the Python version in ``layers/python-version``; no Docker is
involved. When that directory does not exist (a fresh checkout, CI, the infra tests) the layer
is packaged from ``layers/placeholder`` so ``cdk synth`` still works offline, and the app warns
that the stack must not be deployed until the layer is built.
"""

from __future__ import annotations

from aws_cdk import Annotations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from therabill_infra.paths import LAYER_BUILD_DIR, LAYER_PLACEHOLDER_DIR, PYTHON_VERSION_FILE

ARCHITECTURE = lambda_.Architecture.ARM_64


def python_version() -> str:
    """The one Python version the runtime and the layer share (``layers/python-version``)."""
    return PYTHON_VERSION_FILE.read_text(encoding="utf-8").strip()


def python_runtime() -> lambda_.Runtime:
    version = python_version()
    runtime = getattr(lambda_.Runtime, "PYTHON_" + version.replace(".", "_"), None)
    if not isinstance(runtime, lambda_.Runtime):
        raise ValueError(f"aws-cdk-lib has no Lambda runtime for Python {version} ({PYTHON_VERSION_FILE})")
    return runtime


def layer_is_built() -> bool:
    return (LAYER_BUILD_DIR / "python").is_dir()


class DependencyLayer(Construct):
    layer: lambda_.LayerVersion

    def __init__(self, scope: Construct, construct_id: str, *, use_placeholder: bool) -> None:
        super().__init__(scope, construct_id)
        runtime = python_runtime()
        if use_placeholder or not layer_is_built():
            source = LAYER_PLACEHOLDER_DIR
            Annotations.of(self).add_warning_v2(
                "therabill:layer-placeholder",
                "The dependency layer is the empty placeholder: run layers/build.sh before "
                "`cdk deploy`, or the functions cannot import their dependencies.",
            )
        else:
            source = LAYER_BUILD_DIR
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(source)),
            compatible_runtimes=[runtime],
            compatible_architectures=[ARCHITECTURE],
            description=f"Therabill runtime dependencies ({runtime.name}, arm64)",
        )
