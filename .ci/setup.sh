#!/usr/bin/env bash
# One-time, idempotent set-up for esplua on Debian 12:
#  1. installs the Debian packages the build needs (only those missing);
#  2. fetches Debian's `lwip` and `lua5.4` *source* packages and unpacks the parts we compile
#     (lwIP: core, IPv4, ethernet, headers, and the SNTP app the core's configTime uses;
#     Lua: lstrlib.c) into git-ignored folders.
# The deb-src entries are derived from this machine's own apt sources, so no
# mirror is named here. Called by `make setup` (and so by `make run`/`make test`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# tshark reads back the pcaps the network tests write; lua-check is luacheck, which `esplua check`
# runs; xmllint validates `esplua test --junit`; vdeplug joins boards to a VDE network (--net, lab);
# `run --ui` serves term.js and Chart.js from /usr/share/javascript (Debian 12's libjs-xterm ships
# only a CommonJS stub, so the console is term.js, xterm.js's forerunner); chromium is the browser
# of the page's test (Playwright drives it); libbearssl-dev is WiFiClientSecure's TLS engine and
# openssl makes the world's TLS service certificates
packages=(pkg-config liblua5.4-dev libslirp-dev libglib2.0-dev libvdeplug-dev vdeplug curl xz-utils tshark lua-check
  libxml2-utils libjs-term.js libjs-chart.js chromium libbearssl-dev openssl)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# littlefs-python (PyPI): the oracle the LittleFS tests compare images with;
# playwright (PyPI): drives Debian's chromium in the page's test (no browser download)
venv="$root/.venv"
if ! "$venv/bin/python" -c "import littlefs, playwright" 2>/dev/null; then
  echo "setup: installing littlefs-python into .venv" >&2
  if ! python3 -m venv "$venv" 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
  fi
  # through its python, not its pip script (whose #! names the folder the venv was made in)
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "littlefs-python==0.19.0" "playwright==1.65.2"
fi

# Debian's source packages: lwIP (the network stack we compile with our options) and
# Lua's string library (lstrlib.c, compiled into CLuaShim with its configuration
# macros pointed at the watchdog: a pattern match that backtracks for seconds is
# a sketch that never yields). Each is fetched once; a stamp says it is there.
lwip_dir="$root/Sources/CLwIP"
lwip_stamp="$lwip_dir/upstream/.version"
lua_dir="$root/Sources/CLuaShim/upstream"
lua_stamp="$lua_dir/.version"
need_lwip=1; need_lua=1
if [ -f "$lwip_stamp" ] && [ -d "$lwip_dir/include/lwip" ] && [ -f "$lwip_dir/upstream/apps/sntp/sntp.c" ]; then need_lwip=0; fi
if [ -f "$lua_stamp" ] && [ -f "$lua_dir/lstrlib.c.in" ]; then need_lua=0; fi
if [ $need_lwip -eq 0 ] && [ $need_lua -eq 0 ]; then
  exit 0
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/src"
# deb822 sources (*.sources): the same stanzas, typed deb-src
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  sed -e 's/^Types:.*/Types: deb-src/' "$f" > "$work/parts/$(basename "$f")"
done
# one-line sources: each "deb" line becomes "deb-src"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  { grep -E '^deb ' "$f" || true; } | sed -e 's/^deb /deb-src /' > "$work/parts/$(basename "$f").list"
done
opts=(-o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null
      -o Dir::Etc::SourceParts="$work/parts" -o Dir::State::Lists="$work/lists")
apt-get "${opts[@]}" -qq update >/dev/null

if [ $need_lwip -eq 1 ]; then
  echo "setup: fetching Debian's lwip source package" >&2
  (cd "$work/src" && apt-get "${opts[@]}" -qq source --download-only lwip >/dev/null 2>&1) || {
    echo "setup: could not download Debian's lwip source package (is a deb mirror reachable?)" >&2; exit 1; }
  tarball=$(ls "$work"/src/lwip_*.orig.tar.* | head -n1)
  tar -xf "$tarball" -C "$work"
  src=$(ls -d "$work"/lwip-*/src | head -n1)

  rm -rf "$lwip_dir/upstream" "$lwip_dir/include/lwip" "$lwip_dir/include/netif"
  mkdir -p "$lwip_dir/upstream/netif"
  cp -r "$src/core" "$lwip_dir/upstream/core"
  cp "$src/netif/ethernet.c" "$lwip_dir/upstream/netif/"
  mkdir -p "$lwip_dir/upstream/apps"
  cp -r "$src/apps/sntp" "$lwip_dir/upstream/apps/sntp"
  cp -r "$src/include/lwip" "$lwip_dir/include/lwip"
  cp -r "$src/include/netif" "$lwip_dir/include/netif"
  cp "$(dirname "$src")/COPYING" "$lwip_dir/upstream/COPYING" 2>/dev/null || true
  basename "$(dirname "$src")" > "$lwip_stamp"
  echo "setup: lwIP sources ready ($(cat "$lwip_stamp"))" >&2
fi

if [ $need_lua -eq 1 ]; then
  # the source of the liblua5.4-dev we link (same version: the string library's
  # internals must match the VM's)
  echo "setup: fetching Debian's lua5.4 source package (its string library)" >&2
  (cd "$work/src" && apt-get "${opts[@]}" -qq source --download-only lua5.4 >/dev/null 2>&1) || {
    echo "setup: could not download Debian's lua5.4 source package (is a deb mirror reachable?)" >&2; exit 1; }
  tarball=$(ls "$work"/src/lua5.4_*.orig.tar.* | head -n1)
  tar -xf "$tarball" -C "$work"
  src=$(ls -d "$work"/lua-5.4*/src | head -n1)
  rm -rf "$lua_dir"
  mkdir -p "$lua_dir"
  # .c.in: not compiled on its own; clua_strlib.c includes it with the watchdog's macros
  cp "$src/lstrlib.c" "$lua_dir/lstrlib.c.in"
  cp "$src/lprefix.h" "$lua_dir/lprefix.h"
  basename "$(dirname "$src")" > "$lua_stamp"
  echo "setup: Lua's string library ready ($(cat "$lua_stamp"))" >&2
fi
