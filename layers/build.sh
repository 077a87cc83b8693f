#!/usr/bin/env bash
# Builds the Lambda dependency layer without Docker: the locked runtime dependencies
# (pyproject.toml [project.dependencies] as pinned in uv.lock) installed as manylinux aarch64
# wheels for the Lambda Python version in layers/python-version, into layers/build/python
# (or into OUT_DIR/python: `layers/build.sh [OUT_DIR]`).
#
# The wheels must run on the operating system of that Python's Lambda runtime: python3.12 and
# newer run on Amazon Linux 2023 (glibc 2.34), so wheels up to manylinux_2_28 are accepted;
# python3.11 and older run on Amazon Linux 2 (glibc 2.26), so only manylinux2014 (glibc 2.17).
# The layer ships bytecode compiled by a CPython of that version when one is at hand (see below).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
python_version="$(tr -d '[:space:]' < "${here}/python-version")"
build="$(realpath -m -- "${1:-${here}/build}")"
requirements="$(mktemp)"
trap 'rm -f "${requirements}"' EXIT

lambda_platform() {
  local minor="${1#3.}"
  if [[ "$1" != 3.* || ! "${minor}" =~ ^[0-9]+$ ]]; then
    echo "layers/build.sh: cannot read a Python 3 version from layers/python-version ('$1')" >&2
    return 1
  fi
  if (( minor >= 12 )); then
    echo "aarch64-manylinux_2_28"
  else
    echo "aarch64-manylinux2014"
  fi
}
platform="$(lambda_platform "${python_version}")"

cd "${root}"
uv export --no-dev --no-hashes --frozen --no-emit-project --format requirements-txt > "${requirements}"

rm -rf "${build}"
mkdir -p "${build}/python"
uv pip install \
    --requirements "${requirements}" \
    --target "${build}/python" \
    --python-platform "${platform}" \
    --python-version "${python_version}" \
    --only-binary :all: \
    --no-compile \
    --quiet

# Lambda's /opt is read-only, so Python cannot cache bytecode there: the layer ships it, compiled
# by the runtime's Python version (unchecked-hash pycs; infra/therabill_infra/bytecode.py says how
# it finds that interpreter). Without one the layer ships source only, and the build says so.
find "${build}/python" -type d -name "__pycache__" -prune -exec rm -rf {} +
(cd "${root}" && uv run --no-project python infra/therabill_infra/bytecode.py "${build}/python" \
    --prefix /opt/python --python-version "${python_version}")

size="$(du -sh "${build}" | cut -f1)"
echo "layer built in ${build} (${size}, Python ${python_version}, ${platform})"
