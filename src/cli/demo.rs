//! `lagesbild demo-incidents`: seeded SYNTHETIC incidents for the areas in a file.

use anyhow::Result;
use lagesbild::import::{run_import, ImportKind, ImportOptions};
use lagesbild::io::SourceOptions;
use lagesbild::store::{GpkgStore, Store};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Areas with RegSO names (GeoJSON/GeoPackage).
    #[arg(long)]
    areas: PathBuf,
    #[arg(long, default_value_t = 20251122)]
    seed: u64,
    #[arg(long, default_value_t = 104)]
    weeks: u32,
    /// Last day of the period (the generator fills whole ISO weeks before it).
    #[arg(long, default_value = "2026-11-16")]
    end: chrono::NaiveDate,
    #[arg(long)]
    output: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let data = lagesbild::io::read_source(&a.areas, &SourceOptions::default())?;
    // Reuse the import validation to get areas in EPSG:3006 without touching any store.
    let tmp = tempdir_store();
    let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
    run_import(&tmp, ImportKind::Areas, &a.areas, &opts, &|_, _| {})?;
    let areas = tmp.areas()?;
    let _ = std::fs::remove_file(tmp.path());
    let clusters = lagesbild::demo::default_clusters(&areas);
    let rows = lagesbild::demo::generate(&areas, &clusters, a.seed, a.weeks, a.end, 9.0);
    lagesbild::demo::write_csv(&a.output, &rows)?;
    println!("wrote {} SYNTHETIC incidents from {} areas ({}) to {}", rows.len(), areas.len(), data.file_name, a.output.display());
    Ok(())
}

fn tempdir_store() -> GpkgStore {
    let p = std::env::temp_dir().join(format!("lagesbild-demo-{}.gpkg", std::process::id()));
    let _ = std::fs::remove_file(&p);
    GpkgStore::new(p)
}
