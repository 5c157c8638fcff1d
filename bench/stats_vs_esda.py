#!/usr/bin/env python3
"""esda/libpysal half of the statistics benchmark, and the shared inputs.

prepare: a 300x300 lattice of unit squares and the Voronoi cells of 6,000 random points
(DeSO-like polygons), each with y ~ lognormal (numpy seed 3), written as GeoPackage.
run FILE: times libpysal Queen.from_dataframe (best of 3), esda G_Local(star=True,
permutations=999) and Moran_Local(permutations=999), each after a numba warm-up on the same data.
"""
import json, resource, sys, time
import numpy as np
import geopandas as gpd
import shapely


def prepare(out_lattice, out_voronoi):
    rng = np.random.default_rng(3)
    n = 300
    xs, ys = np.meshgrid(np.arange(n), np.arange(n))
    boxes = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 1, ys.ravel() + 1)
    gpd.GeoDataFrame({"y": rng.lognormal(size=n * n)}, geometry=boxes, crs=3006).to_file(out_lattice, driver="GPKG")
    pts = shapely.points(rng.uniform(0, 100_000, (6000, 2)))
    env = shapely.box(0, 0, 100_000, 100_000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=env))
    cells = shapely.intersection(cells, env)
    gpd.GeoDataFrame({"y": rng.lognormal(size=len(cells))}, geometry=cells, crs=3006).to_file(out_voronoi, driver="GPKG")


def run(path):
    import libpysal, esda
    df = gpd.read_file(path)
    y = df["y"].values
    best_w = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        w = libpysal.weights.Queen.from_dataframe(df, use_index=False, silence_warnings=True)
        best_w = min(best_w, time.perf_counter() - t)
    w.transform = "r"
    # numba warm-up on the same data (compilation is not what we compare)
    esda.G_Local(y, w, transform="R", star=True, permutations=99, seed=1, n_jobs=-1)
    esda.Moran_Local(y, w, transformation="r", permutations=99, seed=1, n_jobs=-1)
    t = time.perf_counter()
    g = esda.G_Local(y, w, transform="R", star=True, permutations=999, seed=1, n_jobs=-1)
    gi_s = time.perf_counter() - t
    t = time.perf_counter()
    lm = esda.Moran_Local(y, w, transformation="r", permutations=999, seed=1, n_jobs=-1)
    lisa_s = time.perf_counter() - t
    print(json.dumps({"tool": f"esda {esda.__version__} / libpysal {libpysal.__version__}", "n": int(w.n),
                      "nnz": int(w.nonzero), "weights_s": round(best_w, 4), "gi_star_999_s": round(gi_s, 4),
                      "lisa_999_s": round(lisa_s, 4),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "check": [round(float(g.Zs[0]), 6), round(float(lm.Is[0]), 6)]}))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[2])
