#!/usr/bin/env bash
# Create pygeoapi's own virtual environment for bench/api.py (not the project's venv: pygeoapi
# pins its own Flask, SQLAlchemy and shapely stack).
#
#   bash bench/pygeoapi/setup.sh [VENV_DIR]
#
# VENV_DIR defaults to $PYGEOAPI_VENV or ~/.cache/rivergrid-bench/pygeoapi-venv. Python 3.11
# (pygeoapi 0.22+ need 3.12): $PYGEOAPI_PYTHON, else python3.11 on the PATH. Installs the pinned
# requirements.txt beside this script (pygeoapi 0.21.0, GeoAlchemy2 and psycopg2-binary for the
# PostgreSQL provider, gunicorn to serve it with several workers). Idempotent: an existing venv
# holding pygeoapi 0.21.0 is left as it is.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${PYGEOAPI_VENV:-$HOME/.cache/rivergrid-bench/pygeoapi-venv}}"
python="${PYGEOAPI_PYTHON:-python3.11}"

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c \
    'import importlib.metadata as m, sys; sys.exit(m.version("pygeoapi") != "0.21.0")' 2>/dev/null \
    && [[ -x "$venv/bin/gunicorn" ]]; then
  echo "pygeoapi venv ready: $venv"
  exit 0
fi

"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "setup.sh: $python is not Python 3.11 (set PYGEOAPI_PYTHON)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$venv/bin/python" -c 'import pygeoapi, geoalchemy2, psycopg2, gunicorn; print("pygeoapi", pygeoapi.__version__)'
echo "pygeoapi venv ready: $venv"
