//! `lagesbild summary`: incident counts per area and ISO week.

use anyhow::{bail, Result};
use lagesbild::store::Store;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Write the full area × category × week table here (Swedish Excel CSV).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// DeSO edition (default: the newest in the store).
    #[arg(long)]
    deso_version: Option<String>,
}

pub fn run(store: &dyn Store, a: Args) -> Result<()> {
    let (csv, version) = (a.csv, a.deso_version);
    let areas = store.areas()?;
    let sel = lagesbild::summary::select_edition(&areas, version.as_deref());
    if sel.is_empty() {
        bail!("no areas of DeSO edition {} in the store", version.unwrap_or_default());
    }
    let pop = lagesbild::summary::population_by_area(&areas, &store.indicators()?);
    let (s, incidents) = lagesbild::summary::summarise_store(store, &sel, &pop)?;
    let mut weeks: Vec<&str> = s.rows.iter().map(|r| r.iso_week.as_str()).collect();
    weeks.sort_unstable();
    weeks.dedup();
    println!(
        "DeSO {}: {} areas, {} incidents ({} in no area, {} on borders/overlaps, {} with area/municipality precision left out), weeks {}..{}",
        s.deso_version,
        sel.len(),
        incidents,
        s.unassigned,
        s.ambiguous,
        s.excluded_imprecise,
        weeks.first().unwrap_or(&"-"),
        weeks.last().unwrap_or(&"-")
    );
    println!("{:<10} {:<28} {:>8} {:>10} {:>12}", "deso", "regso", "count", "residents", "per 1000");
    for a in &sel {
        let n = s.area_totals.get(&a.deso).copied().unwrap_or(0);
        let p = pop.get(&a.deso).copied();
        println!(
            "{:<10} {:<28} {:>8} {:>10} {:>12}",
            a.deso,
            a.regso_name,
            n,
            p.map(|p| format!("{p:.0}")).unwrap_or_else(|| "-".into()),
            p.filter(|p| *p > 0.0).map(|p| format!("{:.1}", 1000.0 * n as f64 / p)).unwrap_or_else(|| "-".into())
        );
    }
    if let Some(path) = csv {
        // The summary just counted, not a second count.
        let t = lagesbild::export::table_of_summary(s);
        lagesbild::io::write_table_as(&path, &t, "csv")?;
        println!("wrote {} rows (area × category × week) to {}", t.rows.len(), path.display());
    }
    Ok(())
}
