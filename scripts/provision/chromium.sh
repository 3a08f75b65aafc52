# shellcheck shell=bash
# Sourced by scripts/test: Debian's Chromium, Korean and colour-emoji fonts for the browser tests
# (Playwright drives /usr/bin/chromium; it never downloads a browser of its own).
# As root installs what is missing; not root, a missing Chromium fails the run, since the
# browser tests must not be skipped.

_gopa_chromium_provision() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  local font
  # fonts-noto-color-emoji: without it the screenshots show emoji as empty boxes.
  for font in fonts-noto-cjk fonts-noto-color-emoji; do
    dpkg-query -W -f='${Status}' "$font" 2>/dev/null | grep -q "install ok installed" || missing+=("$font")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "provision/chromium: missing ${missing[*]} and not root to install them" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || { echo "provision/chromium: apt-get update failed" >&2; return 1; }
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { echo "provision/chromium: apt-get install ${missing[*]} failed" >&2; return 1; }
  [ -x /usr/bin/chromium ] || { echo "provision/chromium: /usr/bin/chromium still missing" >&2; return 1; }
}

_gopa_chromium_provision || return 1 2>/dev/null || exit 1
