//! `lagesbild gallra --before YYYY-MM-DD [--dry-run]`: thin out raw incident points (and, with
//! `--walk-text-days`, the free text of old walks), keeping their weekly counts.

use anyhow::{Context, Result};
use lagesbild::store::{AnyStore, GallringPlan};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Remove raw points that occurred before this day (Swedish local time), e.g. 2024-01-01.
    #[arg(long)]
    before: String,
    /// Also clear free text, participants' names and photos of walks closed more than N days ago.
    #[arg(long)]
    walk_text_days: Option<u32>,
    /// Print what would go and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// The audit log (default: STORE.audit.log, as `serve`).
    #[arg(long)]
    audit_log: Option<PathBuf>,
}

pub fn run(store: AnyStore, location: &str, a: Args) -> Result<()> {
    let before = chrono::NaiveDate::parse_from_str(a.before.trim(), "%Y-%m-%d").with_context(|| format!("--before {}: expected YYYY-MM-DD", a.before))?;
    let today = chrono::Local::now().date_naive();
    let plan = GallringPlan {
        before: Some(before),
        walk_text_before: a.walk_text_days.map(|d| today - chrono::Duration::days(i64::from(d))),
        dry_run: a.dry_run,
        by: "cli".into(),
    };
    let audit = lagesbild::api::audit::AuditLog::new(Some(a.audit_log.unwrap_or_else(|| super::serve::default_audit_log(location)))).with_store(store.clone());
    let r = lagesbild::api::audit::gallra(&*store, &plan, &audit)?;
    let verb = if r.dry_run { "would remove" } else { "removed" };
    println!(
        "gallring before {before}: {verb} {} raw points of {} ISO weeks (kept as {} weekly counts); {} walks and {} observations lose text, {} photos",
        r.points_removed, r.weeks, r.weekly_rows, r.walks_cleared, r.observations_cleared, r.photos_removed
    );
    if r.dry_run {
        println!("dry run: nothing was changed");
    } else {
        println!("recorded as {} in the import history and the audit log", r.gallring_id);
    }
    Ok(())
}
