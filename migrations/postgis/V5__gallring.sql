-- Version 5: gallring. Weekly counts per DeSO edition, DeSO, category, ISO week (Swedish local
-- time) and source import of raw points removed by gallring, and a log of every gallring.
CREATE TABLE incident_counts_weekly (
    fid bigserial PRIMARY KEY,
    version text NOT NULL,
    deso text NOT NULL,
    category text NOT NULL,
    iso_week text NOT NULL,
    week_start date NOT NULL,
    count bigint NOT NULL,
    import_id text NOT NULL,
    gallring_id text NOT NULL
);
CREATE INDEX incident_counts_weekly_import_idx ON incident_counts_weekly (import_id);

CREATE TABLE gallring (
    fid bigserial PRIMARY KEY,
    gallring_id text NOT NULL UNIQUE,
    before date,
    walk_text_before date,
    ran_at timestamptz NOT NULL,
    ran_by text NOT NULL DEFAULT '',
    points bigint NOT NULL DEFAULT 0,
    weekly_rows bigint NOT NULL DEFAULT 0,
    walks bigint NOT NULL DEFAULT 0,
    observations bigint NOT NULL DEFAULT 0,
    photos bigint NOT NULL DEFAULT 0
);
