//! `lagesbild migrate`: applies the PostGIS store's migrations that are not yet applied.

use anyhow::{bail, Result};
use lagesbild::store::postgis::{is_postgres_url, PgStore, MIGRATIONS};

pub fn run(location: &str) -> Result<()> {
    if !is_postgres_url(location) {
        bail!("migrate works on a PostGIS store (--store postgresql://…); a GeoPackage needs none");
    }
    // Connecting applies what is missing; a second call confirms nothing is left.
    let store = PgStore::connect(location)?;
    let left = store.migrate()?;
    let latest = MIGRATIONS.iter().map(|(v, _, _)| *v).max().unwrap_or(0);
    println!("{}: schema at version {latest}{}", lagesbild::store::Store::describe(&store), if left.is_empty() { "" } else { " (applied now)" });
    Ok(())
}
