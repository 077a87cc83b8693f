"""Where things live in the repository, resolved from this file so the app runs from any directory."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
CONTRACT_FILE = FUNCTIONS_DIR / "therabill" / "contract.py"
LAYERS_DIR = REPO_ROOT / "layers"
LAYER_BUILD_DIR = LAYERS_DIR / "build"
LAYER_PLACEHOLDER_DIR = LAYERS_DIR / "placeholder"
PYTHON_VERSION_FILE = LAYERS_DIR / "python-version"
FUNCTION_CODE_BUILD_DIR = REPO_ROOT / "build" / "function-code"
CDK_JSON = REPO_ROOT / "cdk.json"
DEFAULT_OUTDIR = REPO_ROOT / "cdk.out"
