#!/usr/bin/env python3
"""GeoPandas half of the import benchmark: the pipeline a GIS analyst would write.

usage: import_geopandas.py AREAS.gpkg INCIDENTS.csv OUT.gpkg
read_csv -> points_from_xy (WGS84) -> to_crs(3006) -> sjoin(predicate="within") with the DeSO
-> to_file(GPKG, engine="pyogrio", spatial index on). Prints the row counts as JSON.
"""
import json
import sys
import pandas as pd
import geopandas as gpd


def main(areas_path, csv_path, out_path):
    areas = gpd.read_file(areas_path, layer="areas", engine="pyogrio")[["deso", "geometry"]]
    df = pd.read_csv(csv_path)
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326).to_crs(3006)
    joined = gpd.sjoin(pts, areas, predicate="within", how="left")
    joined = joined[~joined.index.duplicated(keep="first")].drop(columns=["index_right"])
    joined.to_file(out_path, driver="GPKG", layer="incidents", engine="pyogrio")
    print(json.dumps({"tool": "geopandas " + gpd.__version__, "rows": len(joined), "joined": int(joined["deso"].notna().sum())}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
