#!/usr/bin/env bash
# Runs Keystage side by side with Debian's FreeRADIUS and OpenLDAP slapd on
# this machine (see docs/readme/compare.md). Installs the two packages when
# they are missing (as root), keeps their own services from running (the
# harness starts its own instances on loopback ports, with configuration
# under its -dir, and never touches /etc/freeradius or /etc/ldap), then runs
# the harness under nice with the arguments given, e.g.
#
#   bench/compare/run.sh -people 200000 -rounds 3
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
for p in freeradius slapd; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "run.sh: ${missing[*]} missing; run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  # The packages' services must not start on install: a policy-rc.d that
  # says no, removed again afterwards unless one was there already.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
fi

# If the packaged services run anyway (installed earlier, on a machine with
# systemd), stop them for the run: they would compete for the same cores.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for s in freeradius slapd; do
    if systemctl is-active --quiet "$s"; then
      echo "run.sh: stopping the packaged $s for the run (systemctl start $s to have it back)" >&2
      systemctl stop "$s"
    fi
  done
fi

exec nice go run ./bench/compare "$@"
