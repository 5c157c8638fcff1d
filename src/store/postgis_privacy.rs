//! What the privacy report needs of the PostGIS store's raw points, counted by the server: how
//! many per import and per year, and the oldest and newest of each import, without reading a
//! single point into memory.

use super::{PgStore, PointAges, SourceAge, StoreError};

/// A stored time (Swedish local time, `timestamp`) as UTC text, as the GeoPackage stores it.
fn utc(column: &str) -> String {
    format!("to_char(({column} AT TIME ZONE 'Europe/Stockholm') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

impl PgStore {
    pub(super) fn pg_point_ages(&self) -> Result<PointAges, StoreError> {
        let by_import = format!(
            "SELECT import_id, n, {}, {} FROM (SELECT import_id, count(*) AS n, min(occurred_at) AS lo, max(occurred_at) AS hi FROM incidents GROUP BY import_id) s",
            utc("lo"),
            utc("hi")
        );
        let by_year = format!("SELECT substr({}, 1, 4), count(*) FROM incidents GROUP BY 1 ORDER BY 1", utc("occurred_at"));
        self.block(async {
            let c = self.client().await?;
            let e = |e: tokio_postgres::Error| self.err(e);
            let sources = c.query(&by_import, &[]).await.map_err(e)?;
            let years = c.query(&by_year, &[]).await.map_err(e)?;
            Ok(PointAges {
                by_import: sources
                    .iter()
                    .map(|r| SourceAge { import_id: r.get(0), points: r.get::<_, i64>(1).max(0) as u64, oldest: r.get(2), newest: r.get(3) })
                    .collect(),
                by_year: years.iter().map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64)).collect(),
            })
        })
    }
}
