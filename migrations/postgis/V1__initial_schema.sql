-- lagesbild's PostGIS schema, version 1: the same tables as the GeoPackage store, geometry in
-- SWEREF 99 TM (EPSG:3006) with GiST indexes, so QGIS opens each table as a layer.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE areas (
    fid bigserial PRIMARY KEY,
    deso text NOT NULL,
    regso text NOT NULL DEFAULT '',
    regso_name text NOT NULL DEFAULT '',
    kommun text NOT NULL DEFAULT '',
    version text NOT NULL,
    population double precision,
    import_id text NOT NULL,
    geom geometry(MultiPolygon, 3006) NOT NULL
);
CREATE INDEX areas_geom_idx ON areas USING gist (geom);
CREATE INDEX areas_import_idx ON areas (import_id);

CREATE TABLE indicators (
    fid bigserial PRIMARY KEY,
    deso text NOT NULL,
    year integer NOT NULL,
    indicator text NOT NULL,
    value double precision NOT NULL,
    source text NOT NULL DEFAULT '',
    import_id text NOT NULL
);
CREATE INDEX indicators_import_idx ON indicators (import_id);

CREATE TABLE incidents (
    fid bigserial PRIMARY KEY,
    id text NOT NULL,
    category text NOT NULL,
    source_label text NOT NULL DEFAULT '',
    occurred_at timestamp NOT NULL,
    reported_by text NOT NULL DEFAULT '',
    precision text NOT NULL,
    description text NOT NULL DEFAULT '',
    import_id text NOT NULL,
    geom geometry(Point, 3006) NOT NULL
);
CREATE INDEX incidents_geom_idx ON incidents USING gist (geom);
CREATE INDEX incidents_import_idx ON incidents (import_id);
CREATE INDEX incidents_occurred_idx ON incidents (occurred_at);

CREATE TABLE imports (
    fid bigserial PRIMARY KEY,
    import_id text NOT NULL UNIQUE,
    kind text NOT NULL,
    file_name text NOT NULL,
    sha256 text NOT NULL,
    imported_at text NOT NULL,
    accepted bigint NOT NULL,
    rejected bigint NOT NULL,
    imported_by text NOT NULL DEFAULT ''
);

CREATE TABLE walks (
    fid bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    title text NOT NULL,
    planned_at timestamp NOT NULL,
    area text NOT NULL,
    organiser text NOT NULL,
    organisations text NOT NULL,
    status text NOT NULL,
    notes text NOT NULL,
    created_by text NOT NULL,
    created_at timestamp NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamp NOT NULL,
    version bigint NOT NULL,
    geom geometry(LineString, 3006) NOT NULL
);
CREATE INDEX walks_geom_idx ON walks USING gist (geom);

CREATE TABLE observations (
    fid bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    walk_id text NOT NULL REFERENCES walks (id) ON DELETE CASCADE,
    category text NOT NULL,
    ratings text NOT NULL,
    description text NOT NULL,
    responsible text NOT NULL,
    status text NOT NULL,
    off_route boolean NOT NULL,
    has_photo boolean NOT NULL,
    created_by text NOT NULL,
    created_at timestamp NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamp NOT NULL,
    version bigint NOT NULL,
    geom geometry(Point, 3006) NOT NULL
);
CREATE INDEX observations_geom_idx ON observations USING gist (geom);
CREATE INDEX observations_walk_idx ON observations (walk_id);

CREATE TABLE observation_history (
    fid bigserial PRIMARY KEY,
    observation_id text NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    changed_by text NOT NULL,
    changed_at timestamp NOT NULL,
    changes text NOT NULL
);
CREATE INDEX observation_history_obs_idx ON observation_history (observation_id);

CREATE TABLE photos (
    observation_id text PRIMARY KEY REFERENCES observations (id) ON DELETE CASCADE,
    mime text NOT NULL,
    data bytea NOT NULL,
    sha256 text NOT NULL
);

-- The data generation: raised by every import and undo, announced on the
-- channel lagesbild_changes so other processes on the same database learn of it at once. Walks
-- are read from the tables on every request and need no generation.
CREATE TABLE store_generation (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation bigint NOT NULL
);
INSERT INTO store_generation VALUES (true, 0);

CREATE FUNCTION lagesbild_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE g bigint;
BEGIN
    UPDATE store_generation SET generation = generation + 1 RETURNING generation INTO g;
    PERFORM pg_notify('lagesbild_changes', TG_TABLE_NAME || ' ' || g);
    RETURN NULL;
END $$;

CREATE TRIGGER imports_generation AFTER INSERT OR DELETE ON imports
    FOR EACH STATEMENT EXECUTE FUNCTION lagesbild_bump_generation();
