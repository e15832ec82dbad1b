"""Spatial queries of machi.geo on 100,000 generated points, SQLite and PostgreSQL.

Run on demand (not in CI); a few minutes:

    .venv/bin/python bench/geo.py [--points 100000] [--queries 2000] [--radius-queries 500]
                                  [--polygons 1000] [--engines sqlite,postgresql]
                                  [--postgres-url URL]

What it measures, with the same seeded points and query locations everywhere:

- nearest-10 and radius-500 m through machi.geo.services (`nearest`, `within_radius`: the
  index prefilter in the database, exact haversine in Python, features read back) on SQLite
  (R*Tree) and PostgreSQL (GiST with PostGIS when present, else btree on layer, lat, lon;
  MACHI_GEO_POSTGIS=off forces the btree), one query at a time: queries per second,
  p50 and p99 latency;
- the same two queries on a shapely STRtree held in memory (no database: the lower bound an
  in-process index gives) and as a full scan (numpy haversine over every point), in the same
  run, with the ratios;
- the answers compared: machi's nearest-10 ids and order must equal the full scan's on every
  engine (the run fails otherwise);
- a point-in-polygon overlay (`services.overlay`) of all the points against 1,000 polygons
  covering the area, against shapely alone.

Points: 100,000 in and around the ward (a box about 1 km beyond it), two thirds spread evenly
and a third gathered around the ward's stations, as facilities are. Query locations: uniform
over the ward's box.

Targets (exit status 1 when one fails): nearest-10 p99 under 20 ms on each engine; overlay
under 5 s on each engine.

Django reads its settings once per process, so each engine runs in a child process of this
script (`--worker ENGINE`) with its own empty database: a temporary SQLite directory, or the
PostgreSQL database named in --postgres-url (dropped and created again, so its name must
contain "bench").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261126
EARTH_RADIUS_M = 6_371_008.8
# The ward's box (south, west, north, east) and the generated area around it (~1 km more).
WARD = (35.6996, 139.7175, 35.7359, 139.7724)
AREA = (35.6906, 139.7065, 35.7449, 139.7834)
STATIONS = [
    (35.7175, 139.7656),
    (35.7253, 139.7626),
    (35.7243, 139.7536),
    (35.7178, 139.7579),
    (35.7079, 139.7516),
    (35.7070, 139.7608),
    (35.7078, 139.7700),
    (35.7171, 139.7372),
    (35.7194, 139.7274),
    (35.7093, 139.7334),
    (35.7212, 139.7517),
    (35.7279, 139.7450),
]
NEAREST_N = 10
RADIUS_M = 500.0
TARGET_NEAREST_P99_MS = 20.0
TARGET_OVERLAY_S = 5.0
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/machi_geo_bench"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


# --- Data, the same in every process --------------------------------------------------------


def generate_points(count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    spread = count * 2 // 3
    south, west, north, east = AREA
    lats = list(rng.uniform(south, north, spread))
    lons = list(rng.uniform(west, east, spread))
    gathered = count - spread
    centers = rng.integers(0, len(STATIONS), gathered)
    offsets = rng.normal(0, 0.004, (gathered, 2))
    for c, (dy, dx) in zip(centers, offsets, strict=True):
        lat = min(max(STATIONS[c][0] + dy, south), north)
        lon = min(max(STATIONS[c][1] + dx, west), east)
        lats.append(lat)
        lons.append(lon)
    return np.round(np.array(lats), 7), np.round(np.array(lons), 7)


def query_locations(count: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(SEED + 1)
    south, west, north, east = WARD
    return list(
        zip(
            rng.uniform(south, north, count).tolist(),
            rng.uniform(west, east, count).tolist(),
            strict=True,
        )
    )


def generate_polygons(count: int) -> list[Any]:
    """`count` jittered quadrilaterals tiling the area, like town blocks (valid, no overlap)."""
    import shapely

    rng = np.random.default_rng(SEED + 2)
    south, west, north, east = AREA
    columns = max(1, round(math.sqrt(count * (east - west) / (north - south))))
    rows = math.ceil(count / columns)
    xs = np.linspace(west, east, columns + 1)
    ys = np.linspace(south, north, rows + 1)
    jitter_x = (xs[1] - xs[0]) * 0.2
    jitter_y = (ys[1] - ys[0]) * 0.2
    grid = np.zeros((rows + 1, columns + 1, 2))
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            inner = 0 < i < rows and 0 < j < columns
            grid[i, j] = (
                x + (rng.uniform(-jitter_x, jitter_x) if inner else 0),
                y + (rng.uniform(-jitter_y, jitter_y) if inner else 0),
            )
    polygons = []
    for i in range(rows):
        for j in range(columns):
            if len(polygons) == count:
                break
            corners = [grid[i, j], grid[i, j + 1], grid[i + 1, j + 1], grid[i + 1, j]]
            polygons.append(shapely.Polygon(corners))
    return polygons


def haversine_many(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def timed(queries: list[tuple[float, float]], run: Callable[[float, float], Any]) -> dict:
    for lat, lon in queries[: min(100, len(queries))]:  # warm-up
        run(lat, lon)
    samples = []
    started = time.perf_counter()
    for lat, lon in queries:
        t = time.perf_counter()
        run(lat, lon)
        samples.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - started
    return {
        "qps": len(queries) / total,
        "p50": statistics.median(samples),
        "p99": percentile(samples, 99),
    }


# --- Baselines: shapely STRtree and a full scan (no database) ----------------------------------


def baselines(args: argparse.Namespace) -> dict[str, Any]:
    import shapely

    lats, lons = generate_points(args.points)
    queries = query_locations(args.queries)
    # The STRtree works in a plane: metres east and north of the ward's middle.
    lat0 = math.radians((WARD[0] + WARD[2]) / 2)
    to_x = EARTH_RADIUS_M * math.cos(lat0) * math.pi / 180
    to_y = EARTH_RADIUS_M * math.pi / 180
    tree = shapely.STRtree(shapely.points(lons * to_x, lats * to_y))

    def tree_within(lat: float, lon: float, radius: float) -> np.ndarray:
        hits = tree.query(shapely.Point(lon * to_x, lat * to_y), "dwithin", radius * 1.01)
        distances = haversine_many(lat, lon, lats[hits], lons[hits])
        keep = distances <= radius
        order = np.lexsort((hits[keep], distances[keep]))
        return hits[keep][order]

    def tree_nearest(lat: float, lon: float) -> np.ndarray:
        radius = 100.0
        while True:
            found = tree_within(lat, lon, radius)
            if len(found) >= NEAREST_N:
                return found[:NEAREST_N]
            radius *= 2

    def scan_nearest(lat: float, lon: float) -> np.ndarray:
        distances = haversine_many(lat, lon, lats, lons)
        part = np.argpartition(distances, NEAREST_N)[: NEAREST_N * 2]
        order = np.lexsort((part, distances[part]))
        return part[order][:NEAREST_N]

    def scan_within(lat: float, lon: float) -> np.ndarray:
        distances = haversine_many(lat, lon, lats, lons)
        hits = np.nonzero(distances <= RADIUS_M)[0]
        return hits[np.lexsort((hits, distances[hits]))]

    log("[baseline] STRtree and full scan")
    result = {
        "strtree": {
            "nearest": timed(queries, tree_nearest),
            "radius": timed(
                queries[: args.radius_queries], lambda y, x: tree_within(y, x, RADIUS_M)
            ),
        },
        "scan": {
            "nearest": timed(queries, scan_nearest),
            "radius": timed(queries[: args.radius_queries], scan_within),
        },
        "expected": [scan_nearest(y, x).tolist() for y, x in queries[: args.checked]],
        "radius_mean": statistics.mean(len(scan_within(y, x)) for y, x in queries[:200]),
    }
    polygons = generate_polygons(args.polygons)
    started = time.perf_counter()
    area_tree = shapely.STRtree(polygons)
    point_index, _area_index = area_tree.query(shapely.points(lons, lats), "intersects")
    result["overlay"] = {"seconds": time.perf_counter() - started, "pairs": int(len(point_index))}
    return result


# --- Worker: one engine, through machi's services ----------------------------------------------


def run_worker(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    data_dir = tempfile.mkdtemp(prefix=f"machi-bench-geo-{engine}-")
    os.environ["MACHI_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "machi.settings"
    os.environ["MACHI_ENV"] = "development"
    os.environ["DEBUG"] = "false"  # DEBUG keeps every SQL query in memory
    if engine == "postgresql":
        os.environ["DATABASE_URL"] = args.postgres_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    try:
        import django
        from django.core.management import call_command
        from django.db import connection, transaction

        django.setup()
        from machi.geo import services
        from machi.geo.areas import AreaInput, store_area_layer
        from machi.geo.models import Layer, LayerKind, PointFeature

        log(f"[{engine}] migrating {connection.settings_dict['NAME']}")
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()" if engine == "postgresql" else "SELECT 'SQLite '")
            server = cursor.fetchone()[0]
        if engine == "postgresql":
            from machi.geo import postgis

            path = "GiST (PostGIS)" if postgis.enabled() else "btree (no PostGIS)"
            server = f"{path}, {server}"
        if engine == "sqlite":
            import sqlite3

            server += sqlite3.sqlite_version
        lats, lons = generate_points(args.points)
        started = time.perf_counter()
        with transaction.atomic():
            layer = Layer.objects.create(slug="bench-points", kind=LayerKind.POINT, title="点")
            PointFeature.objects.bulk_create(
                (
                    PointFeature(
                        layer=layer,
                        row=i + 1,
                        name=f"施設{i + 1}",
                        lat=float(y),
                        lon=float(x),
                        properties={"番号": i + 1},
                    )
                    for i, (y, x) in enumerate(zip(lats, lons, strict=True))
                ),
                batch_size=5000,
            )
            services._set_extent(layer, list(zip(lats.tolist(), lons.tolist(), strict=True)))
            layer.save()
        if engine == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE geo_pointfeature")
        load_seconds = time.perf_counter() - started
        log(f"[{engine}] {args.points} points loaded in {load_seconds:.1f} s")
        queries = query_locations(args.queries)
        answers = [
            [f["row"] - 1 for f in services.nearest(layer, y, x, n=NEAREST_N)]
            for y, x in queries[: args.checked]
        ]
        log(f"[{engine}] nearest-{NEAREST_N} x {len(queries)}")
        nearest = timed(queries, lambda y, x: services.nearest(layer, y, x, n=NEAREST_N))
        within = queries[: args.radius_queries]
        log(f"[{engine}] radius {RADIUS_M:g} m x {len(within)}")
        radius = timed(within, lambda y, x: services.within_radius(layer, y, x, RADIUS_M))
        polygons = generate_polygons(args.polygons)
        areas = store_area_layer(
            title="区画", areas=[AreaInput(str(i), {}, p) for i, p in enumerate(polygons, 1)]
        )
        log(f"[{engine}] overlay {args.points} points x {len(polygons)} polygons")
        started = time.perf_counter()
        inside, summary = services.overlay(layer, areas)
        overlay_seconds = time.perf_counter() - started
        connection.close()
        return {
            "engine": engine,
            "server": server,
            "load_seconds": load_seconds,
            "nearest": nearest,
            "radius": radius,
            "answers": answers,
            "overlay": {
                "seconds": overlay_seconds,
                "pairs": len(inside),
                "areas": len(summary),
            },
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# --- Parent ------------------------------------------------------------------------------------


def prepare_postgres(url: str) -> str | None:
    """Drop and create the benchmark database; the reason to skip PostgreSQL, if any."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        return f"the database name {name!r} must contain 'bench' (it is dropped)"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        return f"server unreachable ({' '.join(str(error).split())})"
    with admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name)
            )
        )
    return None


def run_engine(engine: str, args: argparse.Namespace) -> dict[str, Any] | None:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        engine,
        "--points",
        str(args.points),
        "--queries",
        str(args.queries),
        "--polygons",
        str(args.polygons),
        "--radius-queries",
        str(args.radius_queries),
        "--checked",
        str(args.checked),
        "--postgres-url",
        args.postgres_url,
    ]
    process = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if process.returncode != 0:
        log(f"{engine}: worker exited with status {process.returncode}")
        return None
    return json.loads(process.stdout)


def report(base: dict[str, Any], runs: list[dict[str, Any]], args: argparse.Namespace) -> bool:
    ok = True
    print()
    print(
        f"{args.points:,} points; {args.queries:,} nearest and {args.radius_queries:,} radius "
        f"queries; radius {RADIUS_M:g} m holds "
        f"{base['radius_mean']:.0f} points on average"
    )
    print("machi reads every answer back whole (name, address, properties) and returns dicts; the")
    print("STRtree and the scan return row numbers only, so large answers weigh on machi alone.")
    for run in runs:
        print(
            f"{run['engine']}: {run['server'].splitlines()[0][:90]} "
            f"(loaded in {run['load_seconds']:.1f} s)"
        )
    print()
    header = f"{'':<22} {'qps':>8} {'p50 ms':>8} {'p99 ms':>8}"
    for kind, label in (("nearest", f"nearest-{NEAREST_N}"), ("radius", f"radius {RADIUS_M:g} m")):
        print(f"{label}")
        print(header)
        rows = [(f"machi {r['engine']}", r[kind]) for r in runs]
        rows += [
            ("shapely STRtree", base["strtree"][kind]),
            ("full scan (numpy)", base["scan"][kind]),
        ]
        for name, m in rows:
            print(f"{name:<22} {m['qps']:>8.0f} {m['p50']:>8.2f} {m['p99']:>8.2f}")
        for run in runs:
            m = run[kind]
            tree, scan = base["strtree"][kind], base["scan"][kind]
            print(
                f"  {run['engine']}: p99 {m['p99'] / tree['p99']:.1f}x STRtree's, "
                f"{m['p99'] / scan['p99']:.2f}x the full scan's; qps {m['qps'] / tree['qps']:.2f}x "
                f"STRtree's, {m['qps'] / scan['qps']:.2f}x the full scan's"
            )
        print()
    print("overlay: points in polygons")
    print(
        f"{'shapely STRtree only':<22} {base['overlay']['seconds']:>8.2f} s "
        f"{base['overlay']['pairs']:>8} pairs"
    )
    for run in runs:
        o = run["overlay"]
        print(
            f"{'machi ' + run['engine']:<22} {o['seconds']:>8.2f} s {o['pairs']:>8} pairs "
            f"({o['seconds'] / base['overlay']['seconds']:.1f}x shapely alone)"
        )
    print()
    for run in runs:
        same = run["answers"] == base["expected"]
        ok &= same
        print(
            f"{'PASS' if same else 'FAIL'}: {run['engine']} nearest-{NEAREST_N} equals the full "
            f"scan on {len(base['expected'])} queries (ids and order)"
        )
        pairs = run["overlay"]["pairs"] == base["overlay"]["pairs"]
        ok &= pairs
        print(f"{'PASS' if pairs else 'FAIL'}: {run['engine']} overlay pairs equal shapely's")
        fast = run["nearest"]["p99"] < TARGET_NEAREST_P99_MS
        ok &= fast
        print(
            f"{'PASS' if fast else 'FAIL'}: {run['engine']} nearest-{NEAREST_N} p99 < "
            f"{TARGET_NEAREST_P99_MS:g} ms ({run['nearest']['p99']:.2f} ms)"
        )
        quick = run["overlay"]["seconds"] < TARGET_OVERLAY_S
        ok &= quick
        print(
            f"{'PASS' if quick else 'FAIL'}: {run['engine']} overlay < {TARGET_OVERLAY_S:g} s "
            f"({run['overlay']['seconds']:.2f} s)"
        )
    return ok


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--polygons", type=int, default=1000)
    # A radius of 500 m holds ~2,400 points here, each read back whole: fewer queries suffice.
    parser.add_argument("--radius-queries", type=int, default=500)
    parser.add_argument("--checked", type=int, default=200, help="answers compared to the scan")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--worker", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args.worker, args)))
        return 0
    base = baselines(args)
    runs = []
    for engine in args.engines.split(","):
        if engine == "postgresql":
            reason = prepare_postgres(args.postgres_url)
            if reason:
                log(f"postgresql skipped: {reason}")
                continue
        run = run_engine(engine, args)
        if run:
            runs.append(run)
    if not runs:
        log("no engine ran")
        return 1
    return 0 if report(base, runs, args) else 1


if __name__ == "__main__":
    sys.exit(main())
