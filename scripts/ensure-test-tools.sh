#!/usr/bin/env bash
# Makes sure the programs some tests drive are installed: Debian's Chromium (the docs page
# in a headless browser), oathtool (TOTP codes computed outside our code) and promtool,
# from the prometheus package (metrics and alert rules checked by Prometheus itself).
# As root with apt-get, installs what is missing (apt-get update only then); otherwise
# prints what to install and exits 1, so `make test` stops before tests that would fail.
set -uo pipefail

# command the tests run -> Debian package that ships it
declare -A package_of=([chromium]=chromium [oathtool]=oathtool [promtool]=prometheus)
# The tests start Chromium by this path (test/support/browser.ts), not from PATH.
declare -A path_of=([chromium]=/usr/bin/chromium)

present() {
  if [ -n "${path_of[$1]:-}" ]; then [ -x "${path_of[$1]}" ]; else command -v "$1" >/dev/null; fi
}

missing_packages() {
  local tool
  for tool in chromium oathtool promtool; do present "$tool" || echo "${package_of[$tool]}"; done
}

mapfile -t missing < <(missing_packages)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$EUID" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Test tools missing: ${missing[*]}. Install them (Debian), then run the tests again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "or run scripts/ensure-test-tools.sh as root." >&2
  exit 1
fi

echo "Installing test tools: ${missing[*]} (apt-get; this takes a while the first time)" >&2
export DEBIAN_FRONTEND=noninteractive
# Other installs may hold the dpkg lock for a while on a shared machine: wait for it.
apt_get() { apt-get -q -y -o DPkg::Lock::Timeout=600 "$@"; }
# Without recommends: prometheus would otherwise pull in exporters and a server we never run.
# Chromium's own dependencies still bring a font, so pages render text.
if ! apt_get update >&2 || ! apt_get install --no-install-recommends "${missing[@]}" >&2; then
  echo "apt-get could not install: ${missing[*]}" >&2
  exit 1
fi

mapfile -t still < <(missing_packages)
if [ ${#still[@]} -ne 0 ]; then
  echo "Installed, but still not found: ${still[*]}" >&2
  exit 1
fi
