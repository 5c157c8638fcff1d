-- Version 3: a walk's plan and protocol, an observation's follow-up and offline replay key.
ALTER TABLE walks
    ADD COLUMN participants text NOT NULL DEFAULT '[]',
    ADD COLUMN meeting_point text NOT NULL DEFAULT '',
    ADD COLUMN stops text NOT NULL DEFAULT '[]',
    ADD COLUMN dark_hours boolean NOT NULL DEFAULT false,
    ADD COLUMN notes_before text NOT NULL DEFAULT '',
    ADD COLUMN notes_after text NOT NULL DEFAULT '';
ALTER TABLE observations
    ADD COLUMN due date,
    ADD COLUMN insats text NOT NULL DEFAULT '',
    ADD COLUMN client_id text NOT NULL DEFAULT '';
CREATE INDEX observations_client_idx ON observations (client_id) WHERE client_id <> '';
