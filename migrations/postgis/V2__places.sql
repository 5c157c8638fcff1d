-- Version 2: named places (kommundelar, focus places, insats areas), `lagesbild import places`.
CREATE TABLE places (
    fid bigserial PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    import_id text NOT NULL,
    geom geometry(MultiPolygon, 3006) NOT NULL
);
CREATE INDEX places_geom_idx ON places USING gist (geom);
CREATE INDEX places_import_idx ON places (import_id);
