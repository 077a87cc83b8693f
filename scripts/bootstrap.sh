#!/usr/bin/env bash
# Installs everything Therabill needs on a fresh machine, from the project's own files:
# uv (if missing), the locked Python environment, and Debian's Chromium + poppler for the
# browser and PDF tests. Safe to run again: each step is skipped when already done, and apt is
# not touched at all when those packages' commands are already there.
#
# Another apt/dpkg process (unattended-upgrades, a second bootstrap) may hold apt's locks: the
# script then waits, saying which process holds them, for up to BOOTSTRAP_APT_LOCK_TIMEOUT
# seconds (300), and fails with that message if they are still held. The tests also set
# BOOTSTRAP_APT_LOCKS (the lock files) and BOOTSTRAP_APT_POLL_SECONDS (how often to look, 5).
# Sourcing the script defines its functions without running it.
set -euo pipefail

APT_LOCK_TIMEOUT="${BOOTSTRAP_APT_LOCK_TIMEOUT:-300}"
APT_POLL_SECONDS="${BOOTSTRAP_APT_POLL_SECONDS:-5}"
APT_UPDATE_ATTEMPTS=3
read -r -a APT_LOCKS <<< "${BOOTSTRAP_APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}"

# The Debian packages to install, one a line: none when their commands are on PATH.
missing_packages() {
  command -v chromium >/dev/null 2>&1 || echo chromium
  command -v pdftotext >/dev/null 2>&1 || echo poppler-utils
}

# "PID (command)" for each other process with one of apt's lock files open. apt and dpkg open a
# lock file only to hold its lock, so an open lock file means a busy apt.
apt_lock_holders() {
  local -a match=()
  local lock dir pid comm
  local -A seen=()
  for lock in "${APT_LOCKS[@]}"; do
    match+=(-o -lname "${lock}")
  done
  # Processes come and go while find reads /proc: its complaints about them mean nothing.
  while read -r dir; do
    pid="${dir#/proc/}"
    pid="${pid%/fd}"
    [[ "${pid}" == "$$" || -n "${seen[${pid}]:-}" ]] && continue
    seen[${pid}]=1
    comm="$(cat "/proc/${pid}/comm" 2>/dev/null || echo "gone")"
    echo "${pid} (${comm})"
  done < <(find /proc/[0-9]*/fd -maxdepth 1 \( "${match[@]:1}" \) -printf '%h\n' 2>/dev/null || true)
}

# Waits until no other process holds apt's locks, up to $1 seconds (APT_LOCK_TIMEOUT), saying who
# holds them when that changes and every 30 s. Returns 1, saying so, if they are still held.
wait_for_apt_locks() {
  local timeout="${1:-${APT_LOCK_TIMEOUT}}"
  local deadline=$((SECONDS + timeout)) holders said="" said_at=0
  while holders="$(apt_lock_holders)"; [[ -n "${holders}" ]]; do
    holders="${holders//$'\n'/, }"
    if ((SECONDS >= deadline)); then
      echo "bootstrap: apt is still locked after ${timeout}s by ${holders}; let it finish, then run this again" >&2
      return 1
    fi
    if [[ "${holders}" != "${said}" ]] || ((SECONDS - said_at >= 30)); then
      echo "bootstrap: waiting for apt's lock, held by ${holders} (up to $((deadline - SECONDS))s more)" >&2
      said="${holders}"
      said_at=${SECONDS}
    fi
    sleep "${APT_POLL_SECONDS}"
  done
}

# apt-get update + install, within APT_LOCK_TIMEOUT seconds of waiting for the locks in all.
# apt-get waits for dpkg's lock itself (DPkg::Lock::Timeout) but not for the package lists' lock,
# so a failed update is retried after the locks are free again.
install_with_apt() {
  local started=${SECONDS} attempt=1
  local -a apt
  wait_for_apt_locks || return 1
  apt=(apt-get -qq -o "DPkg::Lock::Timeout=$(time_left "${started}")")
  until "${apt[@]}" update >/dev/null; do
    if ((attempt >= APT_UPDATE_ATTEMPTS)); then
      echo "bootstrap: apt-get update failed ${attempt} times; giving up" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    echo "bootstrap: apt-get update failed (apt busy?); trying again" >&2
    sleep "${APT_POLL_SECONDS}"
    wait_for_apt_locks "$(time_left "${started}")" || return 1
  done
  apt=(apt-get -qq -o "DPkg::Lock::Timeout=$(time_left "${started}")")
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y "$@" >/dev/null
}

# Seconds left of APT_LOCK_TIMEOUT since $1 (at least 1).
time_left() {
  local left=$((APT_LOCK_TIMEOUT - (SECONDS - $1)))
  echo $((left > 1 ? left : 1))
}

main() {
  cd "$(dirname "$0")/.."
  if ! command -v uv >/dev/null 2>&1; then
    echo "bootstrap: installing uv"
    python3 -m pip install --quiet --disable-pip-version-check uv
  fi

  echo "bootstrap: syncing the Python environment (uv.lock)"
  # With bytecode compiled once here, no process (test workers, the subprocesses the tests start)
  # compiles the dependencies' sources again, even where PYTHONDONTWRITEBYTECODE is set; when
  # nothing changed, this takes about a second.
  uv sync --frozen --quiet --compile-bytecode

  local -a need_apt
  mapfile -t need_apt < <(missing_packages)
  if ((${#need_apt[@]} > 0)); then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
      echo "bootstrap: installing ${need_apt[*]} from Debian"
      install_with_apt "${need_apt[@]}"
    else
      echo "bootstrap: ${need_apt[*]} missing and apt-get unavailable; browser tests will skip" >&2
    fi
  fi
  echo "bootstrap: done"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
