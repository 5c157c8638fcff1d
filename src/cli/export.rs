//! `lagesbild export LAYER --format … --output FILE`, and `export tiles` for the public vector
//! tiles as PMTiles or MBTiles.

use anyhow::{bail, Result};
use clap::ValueEnum;
use lagesbild::store::Store;
use lagesbild::tiles::export::{Container, ExportOptions};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum Format {
    Gpkg,
    Geojson,
    Csv,
    Pmtiles,
    Mbtiles,
}

#[derive(clap::Args)]
pub struct Args {
    /// areas, indicators, incidents, imports, summary or tiles
    layer: String,
    #[arg(long, value_enum)]
    format: Format,
    #[arg(long)]
    output: PathBuf,
    /// Tiles: the collections to include, comma-separated (deso,incident_counts,…).
    #[arg(long, value_delimiter = ',')]
    layers: Vec<String>,
    /// Tiles: first zoom level.
    #[arg(long, default_value_t = 8)]
    minzoom: u8,
    /// Tiles: last zoom level (at most 16; clients overzoom past it).
    #[arg(long, default_value_t = 14)]
    maxzoom: u8,
    /// Tiles: Polisen's utsatta områden (GeoJSON) for the `police_areas` layer.
    #[arg(long)]
    uso: Option<PathBuf>,
    /// Tiles: municipality boundaries (GeoJSON) for the `municipalities` layer.
    #[arg(long)]
    boundaries: Option<PathBuf>,
    /// Tiles: smallest count shown (as `serve --min-count`).
    #[arg(long, default_value_t = 5)]
    min_count: u64,
}

pub fn run(store: &dyn Store, a: Args) -> Result<()> {
    let fmt = match a.format {
        Format::Gpkg => "gpkg",
        Format::Geojson => "geojson",
        Format::Csv => "csv",
        Format::Pmtiles | Format::Mbtiles if a.layer == "tiles" => {
            let container = if a.format == Format::Pmtiles { Container::Pmtiles } else { Container::Mbtiles };
            let config = lagesbild::api::ServiceConfig { min_public_count: a.min_count, police_areas: a.uso, boundaries: a.boundaries, ..Default::default() };
            let opts = ExportOptions { layers: a.layers, container, minzoom: a.minzoom, maxzoom: a.maxzoom, output: a.output };
            return export_tiles(store, config, &opts);
        }
        Format::Pmtiles | Format::Mbtiles => bail!("--format pmtiles|mbtiles is for `export tiles`"),
    };
    if a.layer == "tiles" {
        bail!("export tiles needs --format pmtiles or mbtiles");
    }
    let table = lagesbild::export::layer_table(store, &a.layer)?;
    lagesbild::io::write_table_as(&a.output, &table, fmt)?;
    println!("wrote {} features of layer {} to {}", table.rows.len(), a.layer, a.output.display());
    Ok(())
}

/// Builds the service's layers from the store, then writes the public tiles with a progress bar
/// on stderr.
fn export_tiles(store: &dyn Store, config: lagesbild::api::ServiceConfig, opts: &ExportOptions) -> Result<()> {
    let state = lagesbild::AppState::new(store, config, Default::default())?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(indicatif::ProgressStyle::with_template("tiler [{bar:40}] {pos}/{len} {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    let report = lagesbild::tiles::export::export(&state, opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let report = report?;
    println!("wrote {} tiles ({} bytes) of layers {} to {}", report.tiles, report.bytes, report.layers.join(","), opts.output.display());
    Ok(())
}
