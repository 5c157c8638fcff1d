#!/usr/bin/env python3
"""Seeded input for the county-scale benchmark (standard library only).

Writes N incidents (default 1,000,000) as a semicolon CSV with lon/lat (WGS84): each picks a DeSO
of Stockholm county at random (weighted by its 2023 population, random.Random(seed)) and lies
within about 150 m of a vertex-average centre of that DeSO's largest ring; dates spread over
2022-01-01..2025-12-31; categories from the EST list. Also writes the DeSO as areas GeoJSON with
`deso`, `kommun` and `population`.

usage: county_scale.py SRC_GEOJSON OUT_AREAS OUT_CSV N SEED
"""
import datetime, json, math, random, sys

CATEGORIES = ["Skadegörelse", "Klotter", "Narkotika", "Stöld", "Inbrott", "Misshandel", "Anlagd brand"]


def centre(geom):
    rings = [geom["coordinates"][0]] if geom["type"] == "Polygon" else [p[0] for p in geom["coordinates"]]
    ring = max(rings, key=len)
    return sum(c[0] for c in ring) / len(ring), sum(c[1] for c in ring) / len(ring)


def main(src, out_areas, out_csv, n, seed):
    data = json.load(open(src, encoding="utf-8"))
    feats = []
    for f in data["features"]:
        p = f["properties"]
        feats.append({"type": "Feature", "geometry": f["geometry"],
                      "properties": {"deso": p["id"], "kommun": p["kommun"], "population": p.get("pop_2023")}})
    json.dump({"type": "FeatureCollection", "features": feats}, open(out_areas, "w", encoding="utf-8"))
    rng = random.Random(seed)
    centres = [centre(f["geometry"]) for f in feats]
    weights = [max(1, f["properties"]["population"] or 1) for f in feats]
    start = datetime.datetime(2022, 1, 1)
    span = (datetime.datetime(2025, 12, 31) - start).total_seconds()
    picks = rng.choices(range(len(feats)), weights=weights, k=n)
    with open(out_csv, "w", encoding="utf-8") as out:
        out.write("id;kategori;datum;lon;lat\n")
        for k, a in enumerate(picks):
            lon, lat = centres[a]
            r, t = 150 * math.sqrt(rng.random()), 2 * math.pi * rng.random()
            dlat = r * math.sin(t) / 111_320
            dlon = r * math.cos(t) / (111_320 * math.cos(math.radians(lat)))
            when = start + datetime.timedelta(seconds=int(rng.random() * span))
            out.write(f"B{k};{rng.choice(CATEGORIES)};{when:%Y-%m-%d %H:%M};{lon + dlon:.6f};{lat + dlat:.6f}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
