#!/usr/bin/env python3
"""Tile benchmark helper: build an MBTiles file from lagesbild's own tiles, and a wrk Lua
script that walks the same tile list on either server.

mbtiles BASE OUT.mbtiles LIST.txt: fetches /tiles/deso/{z}/{x}/{y}.mvt for z 10-15 over the
collection's bounds, stores them gzip-compressed (MBTiles 1.3, TMS rows) and writes the z/x/y list.
"""
import gzip, json, math, sqlite3, sys, urllib.request


def tiles_for(bounds, z):
    w, s, e, n = bounds
    def xy(lon, lat):
        k = 2 ** z
        x = int((lon + 180) / 360 * k)
        y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * k)
        return x, y
    x0, y1 = xy(w, s)
    x1, y0 = xy(e, n)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def mbtiles(base, out, listfile):
    tj = json.load(urllib.request.urlopen(base + "/tiles/deso/tilejson.json"))
    db = sqlite3.connect(out)
    db.executescript("create table metadata (name text, value text); create table tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob); create unique index tile_index on tiles (zoom_level, tile_column, tile_row);")
    meta = {"name": "deso", "format": "pbf", "bounds": ",".join(map(str, tj["bounds"])), "minzoom": "10", "maxzoom": "15",
            "json": json.dumps({"vector_layers": tj["vector_layers"]})}
    db.executemany("insert into metadata values (?, ?)", meta.items())
    lines = []
    for z in range(10, 16):
        for (z_, x, y) in tiles_for(tj["bounds"], z):
            data = urllib.request.urlopen(f"{base}/tiles/deso/{z}/{x}/{y}.mvt").read()
            if not data:
                continue
            db.execute("insert into tiles values (?, ?, ?, ?)", (z, x, 2 ** z - 1 - y, gzip.compress(data)))
            lines.append(f"{z}/{x}/{y}")
    db.commit()
    with open(listfile, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines)} tiles")


if __name__ == "__main__":
    mbtiles(sys.argv[2], sys.argv[3], sys.argv[4])
