#!/usr/bin/env bash
# Installs what benchmatrix needs on a Debian or Ubuntu machine. Safe to run again:
# it installs only what is missing, so tools/nox calls it before every nox run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# wrk drives the load (nghttp2-client's h2load is the second generator of --cross-check h2load);
# gcc and the Python headers build uWSGI; python3-venv holds nox; nginx fronts the +nginx cells;
# postgresql gives the embedded throwaway clusters their binaries; iproute2 builds --hosts netns;
# openssh-client reaches SSH load hosts, openssh-server is the sshd the SSH tests start in a namespace.
packages=(wrk nghttp2-client build-essential python3 python3-venv python3-dev git ca-certificates nginx postgresql
          iproute2 openssh-client openssh-server)
# --tests (tools/nox passes it for the tests session): also Debian's chromium, the headless browser the
# results site is tested in (tests/results/test_site_browser.py); about 25 s and 350 MB on a machine
# that has none of its libraries. A machine that only benchmarks never needs it.
for option in "$@"; do
  case "$option" in
    --tests) packages+=(chromium) ;;
    *) echo "setup: unknown option $option (the only one is --tests)" >&2; exit 2 ;;
  esac
done
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]} with apt-get" >&2
  $sudo apt-get update -qq
  # Debian's nginx and postgresql packages start system services on install (nginx on port 80,
  # a cluster on 5432). The harness runs its own, so keep the machine quiet: no cluster is
  # created and no service is started (policy-rc.d exit 101 is Debian's "do not start").
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2 \
    || { [ -z "$policy_added" ] || $sudo rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ -z "$policy_added" ] || $sudo rm -f /usr/sbin/policy-rc.d
fi

# nox and uv live in a private environment: Debian's system Python refuses pip installs (PEP 668).
# benchmatrix itself is installed there too, editable and without its dependencies: the noxfile and
# the toxfile import only its standard-library parts (the matrix, interpreter discovery, the sessions' logic).
tools_env="$repo/.tools"
wanted="$(cat "$repo/configs/requirements/tools.txt" "$repo/pyproject.toml"; echo "$repo")"
if [ "$wanted" != "$(cat "$tools_env/installed-requirements.txt" 2>/dev/null)" ]; then
  echo "setup: building the tool environment in $tools_env" >&2
  python3 -m venv "$tools_env"
  "$tools_env/bin/python" -m pip install --quiet --disable-pip-version-check -r "$repo/configs/requirements/tools.txt" >&2
  "$tools_env/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$repo" >&2
  printf '%s' "$wanted" > "$tools_env/installed-requirements.txt"
fi
