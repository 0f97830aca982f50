#!/usr/bin/env bash
# Installs what benchmatrix needs on a Debian or Ubuntu machine. Safe to run again:
# it installs only what is missing, so tools/nox calls it before every nox run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# wrk drives the load; gcc and the Python headers build uWSGI; python3-venv holds nox.
packages=(wrk build-essential python3 python3-venv python3-dev git ca-certificates)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]} with apt-get" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# nox and uv live in a private environment: Debian's system Python refuses pip installs (PEP 668).
tools_env="$repo/.tools"
wanted="$repo/configs/requirements/tools.txt"
if ! cmp -s "$wanted" "$tools_env/installed-requirements.txt" 2>/dev/null; then
  echo "setup: building the tool environment in $tools_env" >&2
  python3 -m venv "$tools_env"
  "$tools_env/bin/python" -m pip install --quiet --disable-pip-version-check -r "$wanted" >&2
  cp "$wanted" "$tools_env/installed-requirements.txt"
fi
