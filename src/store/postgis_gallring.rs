//! Gallring in the PostGIS store (schema `V5__gallring.sql`): the same rule as the GeoPackage,
//! in one PostgreSQL transaction that locks out writers of incidents from counting to commit.

use super::gallring::{self, GallringPlan, GallringReport, GallringState, WeeklyCount};
use super::{PgStore, Store, StoreError};
use crate::model::Category;
use chrono::NaiveDate;

/// Walks held (no longer planned) before the cut, by their planned day.
const CLOSED_WALKS: &str = "SELECT id FROM walks WHERE status <> 'planerad' AND planned_at::date < $1";

impl PgStore {
    fn pg_err(&self, e: tokio_postgres::Error) -> StoreError {
        // The server's own message (constraint, column) says more than the driver's summary.
        let text = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
        self.err(text)
    }

    pub(super) fn pg_weekly_counts(&self) -> Result<Vec<WeeklyCount>, StoreError> {
        self.block(async {
            let c = self.client().await?;
            let rows = c
                .query("SELECT version, deso, category, iso_week, week_start, count, import_id FROM incident_counts_weekly ORDER BY fid", &[])
                .await
                .map_err(|e| self.pg_err(e))?;
            rows.iter()
                .map(|r| {
                    let cat: String = r.get(2);
                    Ok(WeeklyCount {
                        version: r.get(0),
                        deso: r.get(1),
                        category: Category::from_canonical(&cat)
                            .ok_or_else(|| StoreError::Corrupt { path: self.describe(), reason: format!("incident_counts_weekly: unknown category {cat}") })?,
                        iso_week: r.get(3),
                        week_start: r.get(4),
                        count: r.get::<_, i64>(5).max(0) as u64,
                        import_id: r.get(6),
                    })
                })
                .collect()
        })
    }

    pub(super) fn pg_gallring_state(&self) -> Result<GallringState, StoreError> {
        self.block(async {
            let c = self.client().await?;
            let r = c
                .query_one(
                    "SELECT (SELECT max(before) FROM gallring), (SELECT to_char(max(ran_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM gallring),
                            (SELECT count(DISTINCT iso_week) FROM incident_counts_weekly)",
                    &[],
                )
                .await
                .map_err(|e| self.pg_err(e))?;
            Ok(GallringState { thinned_before: r.get::<_, Option<NaiveDate>>(0), last_run: r.get(1), thinned_weeks: r.get::<_, i64>(2).max(0) as u64 })
        })
    }

    /// Removes the weekly counts of an undone import's thinned points; returns how many points
    /// they stood for (one edition's worth: each point is counted once per DeSO edition).
    pub(super) async fn pg_forget_thinned(&self, t: &tokio_postgres::Transaction<'_>, import_id: &str) -> Result<u64, StoreError> {
        let r = t
            .query_one(
                "SELECT coalesce(max(n), 0)::bigint FROM (SELECT sum(count) AS n FROM incident_counts_weekly WHERE import_id = $1 GROUP BY version) s",
                &[&import_id],
            )
            .await
            .map_err(|e| self.pg_err(e))?;
        t.execute("DELETE FROM incident_counts_weekly WHERE import_id = $1", &[&import_id]).await.map_err(|e| self.pg_err(e))?;
        Ok(r.get::<_, i64>(0).max(0) as u64)
    }

    pub(super) fn pg_gallra(&self, plan: &GallringPlan) -> Result<GallringReport, StoreError> {
        let mut report = gallring::new_report(plan);
        // Read before the transaction: points are removed by id, so a point imported meanwhile
        // is neither counted nor removed.
        let (counts, ids) = match plan.before {
            Some(before) => {
                let thinned = gallring::thinned_incidents(self, before)?;
                (gallring::weekly_counts(&self.areas()?, &thinned), thinned.into_iter().map(|i| i.id).collect::<Vec<_>>())
            }
            None => (vec![], vec![]),
        };
        report.points_removed = ids.len() as u64;
        report.weekly_rows = counts.len() as u64;
        report.weeks = gallring::distinct_weeks(&counts);
        self.block(async {
            let mut c = self.client().await?;
            let t = c.transaction().await.map_err(|e| self.pg_err(e))?;
            t.batch_execute("LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE").await.map_err(|e| self.pg_err(e))?;
            if let Some(cut) = plan.walk_text_before {
                self.pg_walk_text(&t, cut, &mut report, !plan.dry_run).await?;
            }
            if plan.dry_run {
                // Dropped without commit: rolled back, nothing changed.
                return Ok(report);
            }
            for r in &counts {
                t.execute(
                    "INSERT INTO incident_counts_weekly (version, deso, category, iso_week, week_start, count, import_id, gallring_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[&r.version, &r.deso, &r.category.as_str(), &r.iso_week, &r.week_start, &(r.count as i64), &r.import_id, &report.gallring_id],
                )
                .await
                .map_err(|e| self.pg_err(e))?;
            }
            report.points_removed = t.execute("DELETE FROM incidents WHERE id = ANY($1)", &[&ids]).await.map_err(|e| self.pg_err(e))?;
            self.pg_log(&t, plan, &report).await?;
            t.commit().await.map_err(|e| self.pg_err(e))?;
            Ok(report)
        })
    }

    /// Clears free text, participants' names and photos of walks closed before `cut` (or, not
    /// `apply`, only counts them). Category, ratings, status and position stay.
    async fn pg_walk_text(&self, t: &tokio_postgres::Transaction<'_>, cut: NaiveDate, r: &mut GallringReport, apply: bool) -> Result<(), StoreError> {
        let e = |e| self.pg_err(e);
        let obs = format!("SELECT id FROM observations WHERE walk_id IN ({CLOSED_WALKS})");
        let named = "(organiser <> '' OR notes <> '' OR notes_before <> '' OR notes_after <> '' OR participants LIKE '%\"name\"%')";
        let texted = format!("id IN ({obs}) AND (description <> '' OR has_photo)");
        let n = |sql: String| async move { t.query_one(&sql, &[&cut]).await.map(|r| r.get::<_, i64>(0).max(0) as u64) };
        r.walks_cleared = n(format!("SELECT count(*) FROM walks WHERE id IN ({CLOSED_WALKS}) AND {named}")).await.map_err(e)?;
        r.observations_cleared = n(format!("SELECT count(*) FROM observations WHERE {texted}")).await.map_err(e)?;
        r.photos_removed = n(format!("SELECT count(*) FROM photos WHERE observation_id IN ({obs})")).await.map_err(e)?;
        if !apply {
            return Ok(());
        }
        // Versions rise so that a phone holding an old copy re-reads before it writes.
        let statements = [
            format!("UPDATE observations SET description = '', has_photo = false, version = version + 1 WHERE {texted}"),
            format!("DELETE FROM photos WHERE observation_id IN ({obs})"),
            format!("UPDATE observation_history SET changes = (changes::jsonb - 'description')::text WHERE observation_id IN ({obs}) AND changes LIKE '{{%'"),
            format!(
                "UPDATE walks SET organiser = '', notes = '', notes_before = '', notes_after = '', version = version + 1,
                   participants = (SELECT coalesce(jsonb_agg(p - 'name'), '[]'::jsonb)::text FROM jsonb_array_elements(walks.participants::jsonb) p)
                 WHERE id IN ({CLOSED_WALKS}) AND {named}"
            ),
        ];
        for sql in statements {
            t.execute(sql.as_str(), &[&cut]).await.map_err(e)?;
        }
        Ok(())
    }

    /// The gallring log and the import history entry, in the same transaction as the removal.
    async fn pg_log(&self, t: &tokio_postgres::Transaction<'_>, plan: &GallringPlan, r: &GallringReport) -> Result<(), StoreError> {
        t.execute(
            "INSERT INTO gallring (gallring_id, before, walk_text_before, ran_at, ran_by, points, weekly_rows, walks, observations, photos)
             VALUES ($1, $2, $3, $4::text::timestamptz, $5, $6, $7, $8, $9, $10)",
            &[
                &r.gallring_id,
                &r.before,
                &r.walk_text_before,
                &r.ran_at,
                &plan.by,
                &(r.points_removed as i64),
                &(r.weekly_rows as i64),
                &(r.walks_cleared as i64),
                &(r.observations_cleared as i64),
                &(r.photos_removed as i64),
            ],
        )
        .await
        .map_err(|e| self.pg_err(e))?;
        let rec = r.record();
        t.execute(
            "INSERT INTO imports (import_id, kind, file_name, sha256, imported_at, accepted, rejected, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&rec.import_id, &rec.kind, &rec.file_name, &rec.sha256, &rec.imported_at, &(rec.accepted as i64), &(rec.rejected as i64), &plan.by],
        )
        .await
        .map_err(|e| self.pg_err(e))?;
        Ok(())
    }
}
