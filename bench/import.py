"""Benchmark `edl registry import`: rows/s and peak memory on PostgreSQL and SQLite, against a plain COPY.

    .venv/bin/python bench/import.py              # 100,000 rows
    .venv/bin/python bench/import.py --million    # and 1,000,000 rows
    .venv/bin/python bench/import.py --rows 1000000,10000000 --import-only   # PostgreSQL first import only

Generates CSV files without photos into a temporary directory, then imports each into a fresh PostgreSQL schema
(then once more: the idempotent re-import) and a fresh SQLite file. Every import runs in its own child process,
which reports its own peak RSS (before the import and at the end), so the runs for different sizes can be
compared: memory should stay flat as the file grows. The "COPY ceiling" is a plain
`COPY … FROM STDIN (FORMAT csv)` of the same file into a bare table without keys, indexes or validation: the
fastest PostgreSQL can take the bytes. "COPY licences" copies the same rows, already in the table's types, straight
into an empty `licences` with its keys and indexes: what the database alone costs per row, without validation,
staging, duplicate checks or events. Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg

PG_URL = os.environ.get("EDL_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
BARE = """CREATE TABLE bare (
    number varchar(18), file_number varchar(12), name varchar(64), sex smallint, nationality varchar(3),
    birth_date date, address varchar(256), classes varchar(64), first_issue date, validity_term varchar(8),
    valid_from date, valid_until date, authority_code varchar(6), authority_name varchar(64),
    authority_city varchar(32), statuses varchar(16), points smallint, points_cycle_start date,
    photo_sha256 varchar(64), photo_compliant boolean, mobile varchar(11))"""


def child(url: str, path: Path, data_dir: Path) -> None:
    """Import `path` into `url` (migrating first) and print the figures as JSON: runs in a fresh process."""
    from edl.bootstrap import bootstrap
    from edl.config import Settings
    from edl.registry.importer import import_file

    container = bootstrap(Settings(data_dir=data_dir, database_url=url), migrate=True)
    before = peak_rss_kb()
    report = import_file(container.engine, path, data_dir / "rejects.csv", "bench", clock=container.clock)
    container.dispose()
    print(
        json.dumps(
            {
                "rows": report.rows,
                "accepted": report.accepted,
                "rejected": report.rejected,
                "inserted": report.inserted,
                "unchanged": report.unchanged,
                "seconds": report.seconds,
                "rss_before_kb": before,
                "rss_peak_kb": peak_rss_kb(),
            }
        )
    )


def peak_rss_kb() -> int:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec, unlike ru_maxrss, which a child
    inherits from the (bigger) parent that generated the file."""
    try:
        for text in Path("/proc/self/status").read_text().splitlines():
            if text.startswith("VmHWM:"):
                return int(text.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(url: str, path: Path, data_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(path), str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def pg_schema_url(schema: str) -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def copy_ceiling(path: Path) -> float:
    """Seconds for a plain COPY of the CSV into a bare table (no constraints, no indexes)."""
    schema = f"edl_bench_copy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            conn.execute(f'SET search_path = "{schema}"')
            conn.execute(BARE)
            started = time.perf_counter()
            copy = "COPY bare FROM STDIN (FORMAT csv, HEADER)"
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as cp, path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    cp.write(chunk)
            return time.perf_counter() - started
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def copy_into_licences(path: Path, workdir: Path) -> float:
    """Seconds to COPY the file's rows (converted to the table's types first, untimed) into an empty, migrated
    `licences` with its keys and indexes, in batches of 10,000 rows, one transaction each (as the import commits)."""
    import polars as pl

    from edl.bootstrap import bootstrap
    from edl.config import Settings
    from edl.registry.chunks import batches
    from edl.registry.files import RegistryFile
    from edl.registry.formats import DB_COLUMNS, RowParser

    schema = f"edl_bench_lic_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        bootstrap(Settings(data_dir=workdir / "data", database_url=pg_schema_url(schema)), migrate=True).dispose()
        columns = ", ".join(DB_COLUMNS)
        with psycopg.connect(libpq(pg_schema_url(schema))) as conn, conn.cursor() as cur, RegistryFile(path) as source:
            seconds = 0.0
            for batch in batches(source, RowParser(date.today()), 10_000):
                data = batch.rows.select(*DB_COLUMNS, pl.lit(1).alias("version"), pl.lit("now").alias("updated_at"))
                payload = data.write_csv(include_header=False).encode()
                started = time.perf_counter()
                with cur.copy(f"COPY licences ({columns}, version, updated_at) FROM STDIN (FORMAT csv)") as cp:
                    cp.write(payload)
                conn.commit()
                seconds += time.perf_counter() - started
            return seconds
    finally:
        with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def line(size: int, db: str, what: str, seconds: float, rss_kb: float | None = None, note: str = "") -> None:
    rss = f"{rss_kb / 1024:9.0f} MB" if rss_kb else " " * 12
    print(f"{size:>10,}  {db:<10}  {what:<13} {seconds:8.1f} s  {size / seconds:>9,.0f} rows/s  {rss}  {note}")


def bench(sizes: list[int], workdir: Path, *, import_only: bool = False) -> None:
    from edl.registry.generator import generate

    with psycopg.connect(libpq(PG_URL)) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()
    print(
        f"eDL import benchmark: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {pg_version[0] if pg_version else '?'}, SQLite {sqlite3.sqlite_version}"
    )
    print(f"{'rows':>10}  {'database':<10}  {'run':<13} {'time':>10}  {'rate':>16}  {'peak RSS':>12}")
    for size in sizes:
        path = workdir / f"registry-{size}.csv"
        report = generate(path, size, seed=2026)
        line(size, "-", "generate", report.seconds, note=f"{path.stat().st_size / 2**20:.0f} MiB CSV, no photos")
        schema = f"edl_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            for what in ("import",) if import_only else ("import", "re-import"):
                r = run_child(pg_schema_url(schema), path, workdir / "data")
                note = f"rss before import {r['rss_before_kb'] / 1024:.0f} MB; {r['rejected']:.0f} rejected"
                line(size, "postgresql", what, r["seconds"], r["rss_peak_kb"], note)
        finally:
            with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        line(size, "postgresql", "COPY ceiling", copy_ceiling(path), note="bare table, no validation")
        note = "typed rows into licences (keys, indexes)"
        line(size, "postgresql", "COPY licences", copy_into_licences(path, workdir), note=note)
        if import_only:
            path.unlink()
            continue
        db = workdir / f"bench-{size}.db"
        r = run_child(f"sqlite:///{db}", path, workdir / "data")
        line(size, "sqlite", "import", r["seconds"], r["rss_peak_kb"], f"{r['rejected']:.0f} rejected")
        db.unlink()
        path.unlink()


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 rows")
    parser.add_argument("--rows", type=lambda s: [int(x) for x in s.split(",")], help="file sizes, comma-separated")
    parser.add_argument("--import-only", action="store_true", help="PostgreSQL first import only")
    args = parser.parse_args()
    sizes = args.rows or ([100_000, 1_000_000] if args.million else [100_000])
    with tempfile.TemporaryDirectory(prefix="edl-bench-") as tmp:
        bench(sizes, Path(tmp), import_only=args.import_only)


if __name__ == "__main__":
    main()
