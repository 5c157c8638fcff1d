-- Version 4: the audit log and the åtgärdsplan in the database, so every server process on it
-- writes one log and one plan, and QGIS or psql read them as plain tables.

-- One row per response that carried raw points and per accepted write (src/api/audit.rs); the
-- whole entry as JSON beside the columns one filters on.
CREATE TABLE audit_log (
    fid bigserial PRIMARY KEY,
    logged_at timestamptz NOT NULL DEFAULT now(),
    role text NOT NULL,
    token text,
    sub text,
    preferred_username text,
    collection text,
    request text NOT NULL,
    features bigint,
    method text,
    status integer,
    entry jsonb NOT NULL
);
CREATE INDEX audit_log_time_idx ON audit_log (logged_at);

-- The insatser of the åtgärdsplan; `version` carries the ETag rule (UPDATE … WHERE version = $n).
CREATE TABLE actions (
    fid bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    title text NOT NULL,
    area text NOT NULL,
    problem text NOT NULL,
    responsible text NOT NULL,
    start date NOT NULL,
    "end" date,
    desired_result text NOT NULL,
    outcome text NOT NULL,
    status text NOT NULL,
    level text NOT NULL,
    finding text,
    hotspot text,
    created_by text NOT NULL,
    created_at text NOT NULL,
    updated_by text NOT NULL,
    updated_at text NOT NULL,
    version bigint NOT NULL
);

-- Bedömningar and orsaksanalyser are never overwritten: every one is a new row, the newest counts.
CREATE TABLE est_assessments (
    fid bigserial PRIMARY KEY,
    area text NOT NULL,
    iso_week text NOT NULL,
    status text NOT NULL,
    comment text NOT NULL,
    set_by text NOT NULL,
    set_at text NOT NULL
);
CREATE INDEX est_assessments_key_idx ON est_assessments (area, iso_week);

CREATE TABLE cause_analyses (
    fid bigserial PRIMARY KEY,
    year integer NOT NULL,
    text text NOT NULL,
    set_by text NOT NULL,
    set_at text NOT NULL
);
