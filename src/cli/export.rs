//! `lagesbild export LAYER --format … --output FILE`.

use anyhow::Result;
use clap::ValueEnum;
use lagesbild::store::GpkgStore;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Gpkg,
    Geojson,
    Csv,
}

#[derive(clap::Args)]
pub struct Args {
    /// areas, indicators, incidents, imports or summary
    layer: String,
    #[arg(long, value_enum)]
    format: Format,
    #[arg(long)]
    output: PathBuf,
}

pub fn run(store: &GpkgStore, a: Args) -> Result<()> {
    let fmt = match a.format {
        Format::Gpkg => "gpkg",
        Format::Geojson => "geojson",
        Format::Csv => "csv",
    };
    let table = lagesbild::export::layer_table(store, &a.layer)?;
    lagesbild::io::write_table_as(&a.output, &table, fmt)?;
    println!("wrote {} features of layer {} to {}", table.rows.len(), a.layer, a.output.display());
    Ok(())
}
