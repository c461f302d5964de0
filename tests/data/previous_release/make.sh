#!/usr/bin/env bash
# How the databases in this folder were made: by the previous release of RiverGrid (commit 534d832,
# migrations 0001–0004, two Alembic heads), with its own code, so that the migrations of later
# releases are tested on data the way that release wrote it (tests/test_migrations.py).
#
# Needs a checkout of that commit and a PostgreSQL server with PostGIS (scripts/start_postgis.sh).
#   bash tests/data/previous_release/make.sh /path/to/checkout-of-534d832 postgresql+psycopg2://…/rivergrid_test
set -euo pipefail
old=$1; pg=$2
here="$(cd "$(dirname "$0")" && pwd)"
py="$(cd "$here/../../.." && pwd)/.venv/bin/python"
work=$(mktemp -d)
export RIVERGRID_DATA_DIR="$work/data"
mkdir -p "$RIVERGRID_DATA_DIR"

# a photo with GPS position and camera serial in its EXIF, as phones write them
"$py" - "$work/photo.jpg" <<'PY'
import sys
from PIL import Image
img = Image.new("RGB", (640, 480), (40, 120, 60))
exif = Image.Exif()
exif[0x010F] = "PhoneMaker"; exif[0x0110] = "PhoneModel X"; exif[0xA431] = "SN-1234567890"
exif[0x8825] = {1: "N", 2: (41.0, 50.0, 24.0), 3: "E", 4: (127.0, 0.0, 0.0)}
img.save(sys.argv[1], "JPEG", exif=exif.tobytes(), quality=90)
PY

build() {  # $1: database URL
  (cd "$old" && "$py" -m gis init-demo --database-url "$1" >/dev/null
   "$py" -m gis incident report --lon 127.0 --lat 41.84 --category 生态环境 --description "岸边堆放垃圾" \
       --photo "$work/photo.jpg" --as patroller --database-url "$1" >/dev/null
   "$py" -m gis incident move SJ-2026-015 --to 受理 --as staff --database-url "$1" >/dev/null
   entry=$("$py" - "$1" <<'PY'
import sys
from sqlalchemy import create_engine, text
e = create_engine(sys.argv[1])
with e.connect() as c:
    print(c.execute(text("SELECT max(id) FROM audit_log WHERE table_name = 'incidents'")).scalar())
PY
)
   "$py" -m gis undo "$entry" --user admin --database-url "$1" >/dev/null)
}

rm -f "$here"/rivergrid-534d832.sqlite.gz "$here"/rivergrid-534d832-postgis.sql.gz "$here"/attachments-534d832.tar.gz
build "sqlite:///$work/rivergrid.sqlite"
gzip -9 -c "$work/rivergrid.sqlite" > "$here/rivergrid-534d832.sqlite.gz"
tar -C "$RIVERGRID_DATA_DIR" -czf "$here/attachments-534d832.tar.gz" attachments

"$py" - "$pg" <<'PY'
import sys
from sqlalchemy import create_engine, text
with create_engine(sys.argv[1]).begin() as c:
    c.execute(text("DROP SCHEMA IF EXISTS prev_release CASCADE"))
    c.execute(text("CREATE SCHEMA prev_release"))
PY
sep='?'; case "$pg" in *\?*) sep='&';; esac
build "${pg}${sep}options=-csearch_path%3Dprev_release,public"
dsn=$("$py" -c "import sys; from sqlalchemy.engine import make_url; u = make_url(sys.argv[1]); print(f'host={u.host} port={u.port or 5432} dbname={u.database} user={u.username} password={u.password}')" "$pg")
pg_dump --no-owner --no-privileges --schema=prev_release "$dsn" | gzip -9 > "$here/rivergrid-534d832-postgis.sql.gz"
"$py" - "$pg" <<'PY'
import sys
from sqlalchemy import create_engine, text
with create_engine(sys.argv[1]).begin() as c:
    c.execute(text("DROP SCHEMA prev_release CASCADE"))
PY
rm -rf "$work"
ls -la "$here"
