#!/usr/bin/env bash
# Installs everything Therabill needs on a fresh machine, from the project's own files:
# uv (if missing), the locked Python environment, and Debian's Chromium + poppler for the
# browser and PDF tests. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi

echo "bootstrap: syncing the Python environment (uv.lock)"
uv sync --frozen --quiet

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${need_apt[*]} from Debian"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "bootstrap: ${need_apt[*]} missing and apt-get unavailable; browser tests will skip" >&2
  fi
fi
echo "bootstrap: done"
