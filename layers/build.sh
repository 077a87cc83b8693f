#!/usr/bin/env bash
# Builds the Lambda dependency layer without Docker: the locked runtime dependencies
# (pyproject.toml [project.dependencies] as pinned in uv.lock) installed as manylinux aarch64
# wheels for the Lambda Python version in layers/python-version, into layers/build/python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
python_version="$(tr -d '[:space:]' < "${here}/python-version")"
build="${here}/build"
requirements="$(mktemp)"
trap 'rm -f "${requirements}"' EXIT

cd "${root}"
uv export --no-dev --no-hashes --frozen --no-emit-project --format requirements-txt > "${requirements}"

rm -rf "${build}"
mkdir -p "${build}/python"
uv pip install \
    --requirements "${requirements}" \
    --target "${build}/python" \
    --python-platform aarch64-manylinux2014 \
    --python-version "${python_version}" \
    --only-binary :all: \
    --no-compile \
    --quiet

# Byte code is compiled by Lambda at import; stale caches only weigh the layer down.
find "${build}/python" -type d -name "__pycache__" -prune -exec rm -rf {} +

size="$(du -sh "${build}" | cut -f1)"
echo "layer built in ${build} (${size}, Python ${python_version}, arm64)"
