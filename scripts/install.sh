#!/usr/bin/env bash
# Install RiverGrid on Debian 12 with Python 3.11.
#   bash scripts/install.sh          app: Python packages in .venv
#   bash scripts/install.sh --test   also what the tests need: PostgreSQL + PostGIS, Chromium,
#                                    CJK fonts, faketime (Debian packages) and the test Python packages
# Debian packages are installed with apt-get when running as root (or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "需要 root 权限安装 Debian 软件包: $*" >&2; return 1
  fi
}

debs=()
python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null || debs+=(python3-venv)
# signboards (公示牌) are drawn with CJK fonts at run time too
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || debs+=(fonts-noto-cjk)
if [ "$want_test" = 1 ]; then
  command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /usr/share/postgresql/15/extension ] \
    && ls /usr/share/postgresql/15/extension/postgis.control >/dev/null 2>&1 \
    || debs+=(postgresql postgresql-15-postgis-3)
  [ -x /usr/bin/chromium ] || debs+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || debs+=(poppler-utils)  # renders signboard PDFs in tests
  command -v faketime >/dev/null 2>&1 || debs+=(faketime)  # runs the date-dependent tests on other dates
fi
if [ "${#debs[@]}" -gt 0 ]; then
  echo "== apt-get install ${debs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "== python3 -m venv .venv"
  python3 -m venv .venv
fi
req=requirements.txt
[ "$want_test" = 1 ] && req=requirements-test.txt
echo "== pip install -r $req"
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
