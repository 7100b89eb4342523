-- requires: incidents/011, core/012
-- The town's reports (周报 / 月报 / 季报) as stored documents: one row per period, kind and
-- language; its files in the attachment store under their SHA-256 (gridgeo.storage), one
-- set per audience: 'personal' names the workers, 'public' leaves them out. Read through
-- the /reports routes, which check the reports access rule; no row-level security here.
CREATE TABLE gridgeo.town_reports (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('weekly', 'monthly', 'quarterly')),
    period_start  date NOT NULL,
    period_end    date NOT NULL CHECK (period_end >= period_start),
    language      text NOT NULL CHECK (language IN ('zh', 'en')),
    made_at       timestamptz NOT NULL DEFAULT now(),
    made_by       text NOT NULL,
    -- The town's totals as the documents say them (no worker names), for the listing.
    totals        jsonb NOT NULL,
    CONSTRAINT town_reports_once UNIQUE (kind, period_start, language)
);

CREATE TABLE gridgeo.town_report_files (
    report_id   bigint NOT NULL REFERENCES gridgeo.town_reports (id) ON DELETE CASCADE,
    audience    text NOT NULL CHECK (audience IN ('personal', 'public')),
    format      text NOT NULL CHECK (format IN ('html', 'pdf', 'csv', 'xlsx')),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    length      bigint NOT NULL CHECK (length > 0),
    PRIMARY KEY (report_id, audience, format)
);
