"""Create (once) the database `BENCH_SCALE=N make bench` seeds, and print its name (or URL with --url).

Named after DATABASE_URL's database with `_scale<N>` added (`.` in N becomes `_`), e.g.
bloom_bench_scale100. Used by scripts/bench.sh; see docs/bench.md.
"""

import os
import re
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def main(argv: list[str]) -> int:
    if not argv or not re.fullmatch(r"\d+(\.\d+)?", argv[0]):
        print("usage: bench_scale_db.py FACTOR [--url]  (FACTOR: a positive number such as 100)", file=sys.stderr)
        return 2
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"{url.path.lstrip('/')}_scale{argv[0].replace('.', '_')}"
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(urlunsplit(url._replace(path=f"/{name}")) if "--url" in argv[1:] else name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
