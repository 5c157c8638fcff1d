//! `lagesbild stats …`: spatial statistics on any vector file or the store's incidents.

use super::write_params;
use anyhow::{bail, Context, Result};
use lagesbild::analysis::{self, About, Areas, Event, Input, Limits, Output, Params};
use lagesbild::io::{parse_epsg, Column, SourceOptions, Table, TableRow, Value};
use lagesbild::store::Store;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct StatArgs {
    /// Any vector file GDAL reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, …).
    input: PathBuf,
    /// Numeric field to analyse.
    #[arg(long)]
    field: String,
    /// queen, rook, knn=K or band=METRES.
    #[arg(long, default_value = "queen")]
    weights: lagesbild::analysis::WeightsSpec,
    /// Snapping tolerance in metres for contiguity (slivers and gaps of simplified polygons).
    #[arg(long, default_value_t = 0.0)]
    tolerance: f64,
    /// B (binary) or R (row-standardised).
    #[arg(long, default_value = "B")]
    transform: String,
    #[arg(long, default_value_t = 999)]
    permutations: usize,
    #[arg(long, default_value_t = 20251122)]
    seed: u64,
    /// Reproject to this CRS before building weights (needed for distance weights on lon/lat).
    #[arg(long)]
    crs: Option<String>,
    /// Layer of a multi-layer source.
    #[arg(long)]
    layer: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum StatsCmd {
    /// Local Getis-Ord Gi / Gi*: adds gi_g, gi_z, gi_p, gi_p_sim, gi_bin.
    Gi {
        #[command(flatten)]
        a: StatArgs,
        /// Gi* (each feature in its own neighbourhood).
        #[arg(long)]
        star: bool,
        /// Benjamini-Hochberg FDR on the confidence bins.
        #[arg(long)]
        fdr: bool,
        #[arg(long)]
        output: PathBuf,
    },
    /// Local Moran (LISA): adds lisa_i, lisa_q, lisa_p_sim, lisa_cluster.
    Lisa {
        #[command(flatten)]
        a: StatArgs,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        #[arg(long)]
        output: PathBuf,
    },
    /// Rates per 1,000 for small areas: crude, empirical Bayes (esda's and the clipped
    /// GeoDa/ArcGIS variant), spatial rate and spatial EB over the weights, excess risk and
    /// Assunção–Reis standardised rates.
    Rates {
        /// Any vector file GDAL reads.
        input: PathBuf,
        /// Field with event counts.
        #[arg(long)]
        events: String,
        /// Field with the population at risk.
        #[arg(long)]
        population: String,
        /// Neighbourhood for the spatial rates: queen, rook, knn=K or band=METRES.
        #[arg(long, default_value = "queen")]
        weights: lagesbild::analysis::WeightsSpec,
        #[arg(long, default_value_t = 0.0)]
        tolerance: f64,
        #[arg(long)]
        crs: Option<String>,
        #[arg(long)]
        layer: Option<String>,
        #[arg(long)]
        output: PathBuf,
    },
    /// Global Moran's I as JSON.
    Moran {
        #[command(flatten)]
        a: StatArgs,
    },
    /// Quartic kernel density of the store's incidents (or a point file) as GeoTIFF.
    Kde {
        /// Point file; the store's point-precision incidents when left out.
        input: Option<PathBuf>,
        /// Search radius in metres, or `auto` for ArcGIS's default.
        #[arg(long, default_value = "auto")]
        radius: String,
        #[arg(long, default_value_t = 50.0)]
        cell: f64,
        #[arg(long)]
        output: PathBuf,
        /// Also write density classes as polygons (GeoJSON/GeoPackage/CSV).
        #[arg(long)]
        classes: Option<PathBuf>,
        #[arg(long, default_value_t = 5)]
        class_count: usize,
    },
    /// Optimized hot spots (auto cell size and distance band) of the store's incidents.
    Hotspots {
        input: Option<PathBuf>,
        /// Override the automatic cell size (metres).
        #[arg(long)]
        cell: Option<f64>,
        /// Override the automatic distance band (metres).
        #[arg(long)]
        band: Option<f64>,
        /// Aggregate to hexagons instead of squares.
        #[arg(long)]
        hex: bool,
        #[arg(long)]
        output: PathBuf,
    },
    /// Emerging hot spots per grid cell over weekly (or --step-days) time steps.
    Emerging {
        #[arg(long, default_value_t = 250.0)]
        cell: f64,
        #[arg(long, default_value_t = 7)]
        step_days: i64,
        /// Neighbourhood distance in metres (default: 1.5 cells, the 8 surrounding cells).
        #[arg(long)]
        distance: Option<f64>,
        #[arg(long, default_value_t = 1)]
        time_steps: usize,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Hexagon cells instead of squares.
        #[arg(long)]
        hex: bool,
        #[arg(long)]
        output: PathBuf,
    },
}

/// Runs a registered analysis without the service's limits: the command line passes every
/// value explicitly, so the registry's defaults (the service's) do not apply here.
fn run_analysis(id: &str, input: &Input, pairs: Vec<(&str, String)>) -> Result<(About, Output)> {
    let a = analysis::find(id)?;
    let about = a.about();
    let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let params = Params::parse(&about, &pairs, &Limits::NONE)?;
    let out = a.run(input, &params, &Limits::NONE)?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    Ok((about, out))
}

/// The result fields as columns beside the input's.
fn result_columns(about: &About, out: &Output) -> Vec<(Column, Vec<Value>)> {
    about.fields.iter().enumerate().map(|(k, f)| (Column::new(f.name, f.kind), out.rows.iter().map(|r| r.values[k].clone()).collect())).collect()
}

/// Rows with their own geometry (grid cells, density classes) as a table in EPSG:3006.
fn cell_table(name: &str, about: &About, out: &Output) -> Table {
    Table {
        name: name.into(),
        epsg: Some(3006),
        columns: about.fields.iter().map(|f| Column::new(f.name, f.kind)).collect(),
        rows: out.rows.iter().map(|r| TableRow { values: r.values.clone(), geometry: r.geometry.clone() }).collect(),
    }
}

/// `out.parameters` with more keys, for the record beside the output.
fn with(mut parameters: serde_json::Value, more: serde_json::Value) -> serde_json::Value {
    if let (Some(p), serde_json::Value::Object(m)) = (parameters.as_object_mut(), more) {
        p.extend(m);
    }
    parameters
}

fn area_input(a: &StatArgs) -> Result<Input> {
    let to = a.crs.as_deref().map(parse_epsg).transpose()?;
    let layer = analysis::load(&a.input, a.layer.clone(), &a.field, to)?;
    Ok(Input::Areas(Areas { layer, population: vec![] }))
}

fn area_pairs(a: &StatArgs) -> Vec<(&'static str, String)> {
    vec![
        ("weights", a.weights.to_string()),
        ("tolerance", a.tolerance.to_string()),
        ("transform", a.transform.clone()),
        ("permutations", a.permutations.to_string()),
        ("seed", a.seed.to_string()),
    ]
}

fn store_points(store: &dyn Store) -> Result<Vec<Event>> {
    Ok(store
        .incidents()?
        .into_iter()
        .filter(|i| i.precision.is_point_statistic())
        .map(|i| Event { xy: [i.location.x(), i.location.y()], at: Some(i.occurred_at) })
        .collect())
}

fn points_from(store: &dyn Store, input: Option<PathBuf>) -> Result<Vec<Event>> {
    let Some(p) = input else { return store_points(store) };
    let data = lagesbild::io::read_source(&p, &SourceOptions::default())?;
    let epsg = data.epsg.with_context(|| format!("{}: no CRS", data.file_name))?;
    let t = if epsg == 3006 { None } else { Some(lagesbild::io::transform_between(epsg, 3006)?) };
    let mut out = Vec::new();
    for r in &data.records {
        let Some(g) = &r.geometry else { bail!("{}: missing geometry", r.location) };
        let g = match &t {
            Some(t) => lagesbild::crs::reproject(g, t)?,
            None => g.clone(),
        };
        match g {
            geo::Geometry::Point(p) => out.push(Event { xy: [p.x(), p.y()], at: None }),
            _ => bail!("{}: expected a point", r.location),
        }
    }
    Ok(out)
}

pub fn run(store: &dyn Store, cmd: StatsCmd) -> Result<()> {
    match cmd {
        StatsCmd::Gi { a, star, fdr, output } => gi(a, star, fdr, output),
        StatsCmd::Lisa { a, alpha, output } => lisa(a, alpha, output),
        StatsCmd::Rates { input, events, population, weights, tolerance, crs, layer, output } => {
            rates(RatesArgs { input, events, population, weights, tolerance, crs, layer, output })
        }
        StatsCmd::Moran { a } => {
            let input = area_input(&a)?;
            let (_, out) = run_analysis("moran", &input, area_pairs(&a))?;
            println!("{}", serde_json::to_string_pretty(&out.parameters)?);
            Ok(())
        }
        StatsCmd::Kde { input, radius, cell, output, classes, class_count } => kde(store, input, radius, cell, output, classes, class_count),
        StatsCmd::Hotspots { input, cell, band, hex, output } => hotspots(store, input, cell, band, hex, output),
        StatsCmd::Emerging { cell, step_days, distance, time_steps, alpha, hex, output } => {
            emerging(store, EmergingArgs { cell, step_days, distance, time_steps, alpha, hex }, output)
        }
    }
}

fn gi(a: StatArgs, star: bool, fdr: bool, output: PathBuf) -> Result<()> {
    let input = area_input(&a)?;
    let mut pairs = area_pairs(&a);
    pairs.extend([("star", star.to_string()), ("fdr", fdr.to_string())]);
    let (about, out) = run_analysis("gi", &input, pairs)?;
    let layer = &input.areas()?.layer;
    lagesbild::io::write_table(&output, &analysis::with_results(layer, "getis_ord", result_columns(&about, &out)))?;
    write_params(&output, with(out.parameters.clone(), json!({"input": a.input, "field": a.field})))?;
    let bins: Vec<i64> = out.column(about.fields, "gi_bin").filter_map(|v| if let Value::Int(b) = v { Some(*b) } else { None }).collect();
    let (hot, cold) = (bins.iter().filter(|b| **b > 0).count(), bins.iter().filter(|b| **b < 0).count());
    println!("wrote {} features to {} ({hot} hot, {cold} cold at 90 % or more{})", layer.y.len(), output.display(), if fdr { ", FDR" } else { "" });
    Ok(())
}

fn lisa(a: StatArgs, alpha: f64, output: PathBuf) -> Result<()> {
    let input = area_input(&a)?;
    let mut pairs = area_pairs(&a);
    pairs.push(("alpha", alpha.to_string()));
    let (about, out) = run_analysis("lisa", &input, pairs)?;
    let layer = &input.areas()?.layer;
    lagesbild::io::write_table(&output, &analysis::with_results(layer, "local_moran", result_columns(&about, &out)))?;
    write_params(&output, with(out.parameters.clone(), json!({"input": a.input, "field": a.field})))?;
    println!("wrote {} features to {}", layer.y.len(), output.display());
    Ok(())
}

fn kde(store: &dyn Store, input: Option<PathBuf>, radius: String, cell: f64, output: PathBuf, classes: Option<PathBuf>, class_count: usize) -> Result<()> {
    let points = points_from(store, input)?;
    let n = points.len();
    let mut pairs = vec![("cell", cell.to_string()), ("classes", if classes.is_some() { class_count.to_string() } else { "0".into() })];
    if radius != "auto" {
        let r =
            radius.parse::<f64>().ok().filter(|r| *r > 0.0).with_context(|| format!("--radius: '{radius}' is not a positive number of metres or 'auto'"))?;
        pairs.push(("radius", r.to_string()));
    }
    let (about, out) = run_analysis("density", &Input::Points(points), pairs)?;
    let raster = out.raster.as_ref().context("need at least two points for a default radius")?;
    let r = out.parameters["radius_m"].as_f64().unwrap_or(f64::NAN);
    lagesbild::io::raster::write_geotiff(&output, raster)?;
    println!("wrote {}×{} density raster (radius {r:.0} m, cell {cell} m, {n} points) to {}", raster.ncols, raster.nrows, output.display());
    if let Some(cpath) = classes {
        let table = cell_table("density_classes", &about, &out);
        lagesbild::io::write_table(&cpath, &table)?;
        println!("wrote {} density classes to {}", table.rows.len(), cpath.display());
    }
    write_params(
        &output,
        with(out.parameters.clone(), json!({"method": "quartic kernel (ArcGIS)", "units": "per m² (×1e6 per km²)", "library": lagesbild::stats::LIBRARY})),
    )?;
    Ok(())
}

fn hotspots(store: &dyn Store, input: Option<PathBuf>, cell: Option<f64>, band: Option<f64>, hex: bool, output: PathBuf) -> Result<()> {
    let points = points_from(store, input)?;
    let mut pairs = vec![("hex", hex.to_string())];
    pairs.extend(cell.map(|c| ("cell", c.to_string())));
    pairs.extend(band.map(|b| ("band", b.to_string())));
    let (about, out) = run_analysis("hotspots", &Input::Points(points), pairs)?;
    lagesbild::io::write_table(&output, &cell_table("hotspots", &about, &out))?;
    write_params(&output, with(out.parameters.clone(), json!({"library": lagesbild::stats::LIBRARY})))?;
    println!("{}", serde_json::to_string_pretty(&out.parameters["choices"])?);
    Ok(())
}

struct EmergingArgs {
    cell: f64,
    step_days: i64,
    distance: Option<f64>,
    time_steps: usize,
    alpha: f64,
    hex: bool,
}

fn emerging(store: &dyn Store, e: EmergingArgs, output: PathBuf) -> Result<()> {
    let points = store_points(store)?;
    if points.is_empty() {
        bail!("the store has no point-precision incidents");
    }
    let mut pairs = vec![
        ("cell", e.cell.to_string()),
        ("step_days", e.step_days.to_string()),
        ("time_steps", e.time_steps.to_string()),
        ("alpha", e.alpha.to_string()),
        ("hex", e.hex.to_string()),
    ];
    pairs.extend(e.distance.map(|d| ("distance", d.to_string())));
    let (about, out) = run_analysis("emerging", &Input::Points(points), pairs)?;
    lagesbild::io::write_table(&output, &cell_table("emerging_hotspots", &about, &out))?;
    let mut tally: std::collections::BTreeMap<String, usize> = Default::default();
    for p in out.column(about.fields, "pattern_sv") {
        if let Value::Text(t) = p {
            *tally.entry(t.clone()).or_default() += 1;
        }
    }
    write_params(&output, out.parameters.clone())?;
    println!("wrote {} cells × {} steps to {}: {:?}", out.rows.len(), out.parameters["steps"], output.display(), tally);
    Ok(())
}

struct RatesArgs {
    input: PathBuf,
    events: String,
    population: String,
    weights: analysis::WeightsSpec,
    tolerance: f64,
    crs: Option<String>,
    layer: Option<String>,
    output: PathBuf,
}

fn rates(a: RatesArgs) -> Result<()> {
    let to = a.crs.as_deref().map(parse_epsg).transpose()?;
    let lay = analysis::load(&a.input, a.layer.clone(), &a.events, to)?;
    let pop = analysis::load(&a.input, a.layer, &a.population, to)?;
    let input = Input::Areas(Areas { layer: lay, population: pop.y });
    let (about, out) = run_analysis("rates", &input, vec![("weights", a.weights.to_string()), ("tolerance", a.tolerance.to_string())])?;
    let layer = &input.areas()?.layer;
    lagesbild::io::write_table(&a.output, &analysis::with_results(layer, "rates", result_columns(&about, &out)))?;
    write_params(&a.output, with(out.parameters.clone(), json!({"events": a.events, "population": a.population})))?;
    let mean = out.parameters["mean_rate_per_1000"].as_f64().unwrap_or(f64::NAN);
    let clipped = out.parameters["clipped"].as_bool().unwrap_or(false);
    println!(
        "wrote rates for {} areas to {} (mean {:.2} per 1 000{})",
        layer.y.len(),
        a.output.display(),
        mean,
        if clipped { "; prior variance < 0: esda's EB leaves [0,1], the clipped EB equals the mean" } else { "" }
    );
    Ok(())
}
