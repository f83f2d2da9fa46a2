#!/usr/bin/env bash
# A model change becoming a migration, on the bundled example: edit a model, makemigrations,
# sqlmigrate, migrate. Uses a database of its own (demo.sqlite3) and puts the example back
# as it was afterwards, even when a step fails or it is interrupted.
set -euo pipefail
cd "$(dirname "$0")"
export GITMIG_DATABASE_URL="sqlite:///demo.sqlite3"

saved="$(mktemp -d "${TMPDIR:-/tmp}/gitmig-demo.XXXXXX")"
cp shop/models.py shop/migrations/gitmig.lock "$saved/"
ls shop/migrations > "$saved/files"
reset() {
    cp "$saved/models.py" shop/models.py
    cp "$saved/gitmig.lock" shop/migrations/gitmig.lock
    for f in shop/migrations/*.py; do
        grep -qxF "$(basename "$f")" "$saved/files" || rm -f "$f"
    done
    rm -f demo.sqlite3
    rm -rf "$saved"
    echo "(the example is back as it was)"
}
trap reset EXIT

run() {
    echo
    echo "\$ $*"
    "$@"
}

run gitmig migrate
echo
echo "# shop/models.py: Product gets a stock column"
python3 - <<'PY'
from pathlib import Path

path = Path("shop/models.py")
text = path.read_text()
price = "    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))\n"
assert price in text, "shop/models.py changed: the demo cannot find Product.price"
path.write_text(text.replace(price, price + "    stock: Mapped[int] = mapped_column(default=0)\n"))
PY
run gitmig makemigrations
run gitmig sqlmigrate shop 0002
run gitmig migrate
run gitmig showmigrations shop
