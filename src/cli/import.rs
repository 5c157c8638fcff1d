//! `lagesbild import areas|indicators|incidents|places FILE`.

use super::parse_pairs;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use lagesbild::import::{run_import_with_rejects, write_rejects, ImportError, ImportKind, ImportOptions};
use lagesbild::io::{parse_epsg, SourceOptions};
use lagesbild::model::{CategoryMap, Precision};
use lagesbild::store::Store;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Areas,
    Indicators,
    Incidents,
    /// Named places: kommundelar, focus places, insats areas (`--kind`).
    Places,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    kind: Kind,
    file: PathBuf,
    /// Kind of the places in the file (import places): kommundel, plats or insatsområde.
    #[arg(long = "kind", default_value = "kommundel")]
    place_kind: String,
    #[command(flatten)]
    opts: ImportArgs,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// CRS of coordinates in a file that declares none, e.g. EPSG:3006.
    #[arg(long)]
    crs: Option<String>,
    /// Layer of a multi-layer source.
    #[arg(long)]
    layer: Option<String>,
    /// Explicit column mapping, e.g. `x=Östlig,y=Nordlig,category=Händelse,date=Datum,id=Nr`.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Import the valid rows and write the rejected ones to --rejects.
    #[arg(long)]
    skip_invalid: bool,
    /// Where rejected rows go with their reasons: with --skip-invalid (default FILE.rejects.csv), and for a refused file.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// CSV of `label;category` that extends the built-in category mapping.
    #[arg(long)]
    category_map: Option<PathBuf>,
    /// DeSO edition (2018 or 2025) when the file does not say.
    #[arg(long)]
    deso_version: Option<String>,
    /// Year of the indicator values when the file has no year column.
    #[arg(long)]
    year: Option<i32>,
    /// Per-column year overrides, e.g. `pop=2025,young=2025`.
    #[arg(long, value_delimiter = ',')]
    column_year: Vec<String>,
    /// Source recorded with indicator values, e.g. "SCB".
    #[arg(long)]
    source: Option<String>,
    /// Reporter for files without a reporter column, e.g. polis.
    #[arg(long)]
    reported_by: Option<String>,
    /// Location precision for files without a precision column.
    #[arg(long)]
    precision: Option<String>,
    /// Reject invalid polygons instead of repairing them.
    #[arg(long)]
    reject_invalid_polygons: bool,
}

/// How many problems of a refused file the terminal shows; `--rejects FILE` gets them all.
const SHOWN_PROBLEMS: usize = 50;

pub fn run(store: &dyn Store, args: Args) -> Result<()> {
    let (file, a) = (args.file.as_path(), args.opts);
    let kind = match args.kind {
        Kind::Areas => ImportKind::Areas,
        Kind::Indicators => ImportKind::Indicators,
        Kind::Incidents => ImportKind::Incidents,
        Kind::Places => {
            let r = lagesbild::import::places::import_places(store, file, &args.place_kind, "cli")?;
            println!("{}: {} place(s) imported as {} ({})", r.file_name, r.accepted, args.place_kind, r.import_id);
            return Ok(());
        }
    };
    let crs_epsg = a.crs.as_deref().map(parse_epsg).transpose()?;
    let category_map = match &a.category_map {
        Some(p) => Some(CategoryMap::with_file(p)?),
        None => None,
    };
    let precision = match &a.precision {
        Some(p) => Some(Precision::parse(p).with_context(|| format!("unknown precision '{p}'"))?),
        None => None,
    };
    let column_years = parse_pairs(&a.column_year, "--column-year")?
        .into_iter()
        .map(|(k, v)| v.parse::<i32>().map(|y| (k, y)).with_context(|| format!("--column-year: '{v}' is not a year")))
        .collect::<Result<_>>()?;
    let opts = ImportOptions {
        source: SourceOptions { layer: a.layer, crs_epsg },
        columns: parse_pairs(&a.columns, "--columns")?,
        skip_invalid: a.skip_invalid,
        category_map,
        deso_version: a.deso_version,
        year: a.year,
        column_years,
        source_label: a.source,
        reported_by: a.reported_by,
        precision,
        reject_invalid_polygons: a.reject_invalid_polygons,
        imported_by: None,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    bar.set_message("validerar");
    let progress = |done: u64, total: u64| {
        if total >= 50_000 {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    // A refused file's problem rows go to --rejects too: the terminal shows only the first 50.
    let result = run_import_with_rejects(store, kind, file, &opts, a.rejects.as_deref(), &progress);
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if !report.rejects.is_empty() {
                let path = a.rejects.unwrap_or_else(|| file.with_extension("rejects.csv"));
                write_rejects(&path, &report.rejects)?;
                eprintln!("{} row(s) rejected; written with reasons to {}", report.rejects.len(), path.display());
                for (_, p) in report.rejects.iter().take(20) {
                    eprintln!("  {p}");
                }
            }
            let cols: Vec<String> = report.columns_used.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "imported {} {} from {} as {} (columns: {}; rejected: {}) into {}",
                report.record.accepted,
                report.record.kind,
                report.record.file_name,
                report.record.import_id,
                cols.join(", "),
                report.record.rejected,
                store.describe()
            );
            Ok(())
        }
        Err(ImportError::Invalid { file, problems }) => {
            for p in problems.iter().take(SHOWN_PROBLEMS) {
                eprintln!("{p}");
            }
            match &a.rejects {
                Some(p) => eprintln!("all {} problem row(s), with their reasons, are in {}", problems.len(), p.display()),
                None if problems.len() > SHOWN_PROBLEMS => {
                    eprintln!("… and {} more (--rejects FILE writes them all)", problems.len() - SHOWN_PROBLEMS)
                }
                None => {}
            }
            bail!("{file}: {} invalid row(s); nothing was imported (the store is unchanged). Use --skip-invalid to import the valid rows.", problems.len())
        }
        Err(e) => Err(e.into()),
    }
}
