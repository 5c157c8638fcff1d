//! `lagesbild copy-store --from A --to B`: every import of one store, with its rows and its
//! provenance record, and every walk with its observations, history and photos, into another (a
//! GeoPackage into PostGIS, or back).

use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    /// The store to read: a GeoPackage file or a postgresql:// URL.
    #[arg(long)]
    from: String,
    /// The store to write (must hold no imports yet).
    #[arg(long)]
    to: String,
}

pub fn run(a: Args) -> Result<()> {
    let from = lagesbild::store::open(&a.from)?;
    let to = lagesbild::store::open(&a.to)?;
    let report = lagesbild::store::copy_store(&*from, &*to, &mut |r| eprintln!("{} {} ({} rows, {})", r.import_id, r.file_name, r.accepted, r.kind))?;
    println!(
        "{} imports, {} rows, {} walks with {} observations and {} photos copied from {} to {}",
        report.imports,
        report.rows,
        report.walks,
        report.observations,
        report.photos,
        from.describe(),
        to.describe()
    );
    Ok(())
}
