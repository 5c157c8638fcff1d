#!/usr/bin/env python3
"""Seeded incidents CSV for the import benchmark: `id,lon,lat,kategori,datum`, WGS84, points
uniformly inside the urban DeSO (code letter C) of the given areas file.

usage: gen_incidents.py AREAS.geojson OUT.csv N [--seed S] [--bad K]

--bad K turns K rows, spread evenly through the file, into bad ones (an unreadable date, an
unknown category or a non-numeric coordinate, in turn), for the refusal timing.
"""
import argparse
import numpy as np
import shapely
import geopandas as gpd

CATEGORIES = ["Klotter", "Skadegörelse", "Narkotika", "Otrygghetsskapande samlingar", "Anlagd brand",
              "Inbrott", "Misshandel", "Stöld", "Rån", "Störningsärende"]


def sample_points(areas, n, rng):
    """Uniform points inside the polygons: pick a polygon by area, then rejection-sample its box."""
    geoms = areas.geometry.values
    w = shapely.area(geoms)
    pick = rng.choice(len(geoms), size=n, p=w / w.sum())
    xs, ys = np.empty(n), np.empty(n)
    todo = np.arange(n)
    bounds = shapely.bounds(geoms)
    while len(todo):
        b = bounds[pick[todo]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(geoms[pick[todo]], x, y)
        xs[todo[inside]], ys[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    return xs, ys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("areas")
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--bad", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    areas = gpd.read_file(a.areas).to_crs(3006)
    urban = areas[areas["deso"].str[4] == "C"]
    xs, ys = sample_points(urban, a.n, rng)
    lonlat = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=3006).to_crs(4326)
    lon, lat = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    cats = rng.integers(0, len(CATEGORIES), a.n)
    secs = rng.integers(0, 5 * 365 * 86400, a.n)
    base = np.datetime64("2020-01-01T00:00")
    dates = np.datetime_as_string(base + secs.astype("timedelta64[s]"), unit="m")
    bad = set(np.linspace(0, a.n - 1, a.bad, dtype=np.int64).tolist()) if a.bad else set()
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("id,lon,lat,kategori,datum\n")
        for i in range(a.n):
            lo, la, c, d = f"{lon[i]:.6f}", f"{lat[i]:.6f}", CATEGORIES[cats[i]], dates[i].replace("T", " ")
            if i in bad:
                k = i % 3
                d = "igår" if k == 0 else d
                c = "Ufo-observation" if k == 1 else c
                lo = "sexton" if k == 2 else lo
            f.write(f"I{i + 1},{lo},{la},{c},{d}\n")


if __name__ == "__main__":
    main()
