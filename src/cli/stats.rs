//! `lagesbild stats …`: spatial statistics on any vector file or the store's incidents.

use super::write_params;
use anyhow::{bail, Context, Result};
use lagesbild::io::{parse_epsg, SourceOptions};
use lagesbild::store::Store;
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

fn load_for(a: &StatArgs) -> Result<(lagesbild::analysis::Layer, lagesbild::stats::Weights, lagesbild::stats::Transform)> {
    let to = a.crs.as_deref().map(parse_epsg).transpose()?;
    let layer = lagesbild::analysis::load(&a.input, a.layer.clone(), &a.field, to)?;
    let w = lagesbild::analysis::build_weights(&layer, &a.weights, a.tolerance)?;
    if let Some(msg) = lagesbild::analysis::describe_islands(&w, &layer) {
        eprintln!("warning: {msg}");
    }
    let t = lagesbild::analysis::parse_transform(&a.transform)?;
    Ok((layer, w, t))
}

fn store_points(store: &dyn Store) -> Result<Vec<lagesbild::model::Incident>> {
    Ok(store.incidents()?.into_iter().filter(|i| i.precision.is_point_statistic()).collect())
}

fn points_from(store: &dyn Store, input: Option<PathBuf>) -> Result<Vec<[f64; 2]>> {
    match input {
        None => Ok(store_points(store)?.iter().map(|i| [i.location.x(), i.location.y()]).collect()),
        Some(p) => {
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
                    geo::Geometry::Point(p) => out.push([p.x(), p.y()]),
                    _ => bail!("{}: expected a point", r.location),
                }
            }
            Ok(out)
        }
    }
}

pub fn run(store: &dyn Store, cmd: StatsCmd) -> Result<()> {
    use lagesbild::io::{Column, ColumnKind, Value};
    use lagesbild::stats::*;
    match cmd {
        StatsCmd::Gi { a, star, fdr, output } => {
            let (layer, w, t) = load_for(&a)?;
            let params = GiParams { star, transform: t, permutations: a.permutations, seed: a.seed, fdr };
            let r = getis_ord(&layer.y, &w, &params)?;
            let table = lagesbild::analysis::with_results(
                &layer,
                "getis_ord",
                vec![
                    (Column::new("gi_g", ColumnKind::Real), r.g.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_z", ColumnKind::Real), r.z.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_p", ColumnKind::Real), r.p_norm.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_p_sim", ColumnKind::Real), r.p_sim.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_bin", ColumnKind::Integer), r.bin.iter().map(|v| Value::Int(*v as i64)).collect()),
                ],
            );
            lagesbild::io::write_table(&output, &table)?;
            write_params(
                &output,
                serde_json::json!({"statistic": if star {"Gi*"} else {"Gi"}, "params": r.params, "weights": r.weights, "tolerance_m": a.tolerance, "islands": r.islands, "input": a.input, "field": a.field, "library": r.library}),
            )?;
            let hot = r.bin.iter().filter(|b| **b > 0).count();
            let cold = r.bin.iter().filter(|b| **b < 0).count();
            println!("wrote {} features to {} ({hot} hot, {cold} cold at 90 % or more{})", layer.y.len(), output.display(), if fdr { ", FDR" } else { "" });
        }
        StatsCmd::Lisa { a, alpha, output } => {
            let (layer, w, t) = load_for(&a)?;
            let params = LisaParams { transform: t, permutations: a.permutations, seed: a.seed, alpha };
            let r = local_moran(&layer.y, &w, &params)?;
            let table = lagesbild::analysis::with_results(
                &layer,
                "local_moran",
                vec![
                    (Column::new("lisa_i", ColumnKind::Real), r.i.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("lisa_q", ColumnKind::Integer), r.q.iter().map(|v| Value::Int(*v as i64)).collect()),
                    (Column::new("lisa_p_sim", ColumnKind::Real), r.p_sim.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("lisa_cluster", ColumnKind::Text), r.cluster.iter().map(|v| Value::from(*v)).collect()),
                ],
            );
            lagesbild::io::write_table(&output, &table)?;
            write_params(
                &output,
                serde_json::json!({"statistic": "local Moran", "params": r.params, "weights": r.weights, "tolerance_m": a.tolerance, "islands": r.islands, "input": a.input, "field": a.field, "library": r.library}),
            )?;
            println!("wrote {} features to {}", layer.y.len(), output.display());
        }
        StatsCmd::Rates { input, events, population, weights, tolerance, crs, layer, output } => {
            rates(input, events, population, weights, tolerance, crs, layer, output)?
        }
        StatsCmd::Moran { a } => {
            let (_layer, w, t) = load_for(&a)?;
            let m = moran(&_layer.y, &w, t, a.permutations, a.seed)?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        StatsCmd::Kde { input, radius, cell, output, classes, class_count } => kde(store, input, radius, cell, output, classes, class_count)?,
        StatsCmd::Hotspots { input, cell, band, hex, output } => hotspots(store, input, cell, band, hex, output)?,
        StatsCmd::Emerging { cell, step_days, distance, time_steps, alpha, hex, output } => {
            emerging(store, cell, step_days, distance, time_steps, alpha, hex, output)?
        }
    }
    Ok(())
}

fn kde(store: &dyn Store, input: Option<PathBuf>, radius: String, cell: f64, output: PathBuf, classes: Option<PathBuf>, class_count: usize) -> Result<()> {
    use lagesbild::io::{Column, ColumnKind, Value};
    use lagesbild::stats::*;
    let xy = points_from(store, input)?;
    let r = if radius == "auto" {
        kde::default_bandwidth(&xy, None).context("need at least two points for a default radius")?.search_radius
    } else {
        radius.parse::<f64>().ok().filter(|r| *r > 0.0).with_context(|| format!("--radius: '{radius}' is not a positive number of metres or 'auto'"))?
    };
    let raster = kde::density_around(&xy, None, r, cell);
    let (ncols, nrows) = (raster.ncols, raster.nrows);
    lagesbild::io::raster::write_geotiff(&output, &raster)?;
    println!("wrote {}×{} density raster (radius {r:.0} m, cell {cell} m, {} points) to {}", ncols, nrows, xy.len(), output.display());
    if let Some(cpath) = classes {
        let breaks = kde::quantile_breaks(&raster, class_count);
        let polys = kde::class_polygons(&raster, &breaks);
        let table = lagesbild::io::Table {
            name: "density_classes".into(),
            epsg: Some(3006),
            columns: vec![
                Column::new("class", ColumnKind::Integer),
                Column::new("min_per_km2", ColumnKind::Real),
                Column::new("max_per_km2", ColumnKind::Real),
            ],
            rows: polys
                .into_iter()
                .map(|(c, lo, hi, g)| lagesbild::io::TableRow {
                    values: vec![Value::Int(c as i64), Value::from(lo * 1e6), Value::from(if hi.is_finite() { hi * 1e6 } else { f64::NAN })],
                    geometry: Some(g.into()),
                })
                .collect(),
        };
        lagesbild::io::write_table(&cpath, &table)?;
        println!("wrote {} density classes to {}", table.rows.len(), cpath.display());
    }
    write_params(
        &output,
        serde_json::json!({"method": "quartic kernel (ArcGIS)", "radius_m": r, "radius_auto": radius == "auto", "cell_size_m": cell, "points": xy.len(), "units": "per m² (×1e6 per km²)", "library": LIBRARY}),
    )?;
    Ok(())
}

fn hotspots(store: &dyn Store, input: Option<PathBuf>, cell: Option<f64>, band: Option<f64>, hex: bool, output: PathBuf) -> Result<()> {
    use lagesbild::io::{Column, ColumnKind, Value};
    use lagesbild::stats::*;
    let xy = points_from(store, input)?;
    let shape = if hex { lagesbild::spatial::grid::Shape::Hexagon } else { lagesbild::spatial::grid::Shape::Square };
    let r = optimized::optimized_hot_spots_with(&xy, None, cell, band, shape)?;
    let table = lagesbild::io::Table {
        name: "hotspots".into(),
        epsg: Some(3006),
        columns: vec![
            Column::new("cell_id", ColumnKind::Text),
            Column::new("count", ColumnKind::Integer),
            Column::new("gi_z", ColumnKind::Real),
            Column::new("gi_p", ColumnKind::Real),
            Column::new("gi_bin", ColumnKind::Integer),
        ],
        rows: r
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| lagesbild::io::TableRow {
                values: vec![
                    Value::from(c.id.clone()),
                    Value::Int(r.counts[i] as i64),
                    Value::from(r.gi.z[i]),
                    Value::from(r.gi.p_norm[i]),
                    Value::Int(r.fdr_bin[i] as i64),
                ],
                geometry: Some(c.polygon.clone().into()),
            })
            .collect(),
    };
    lagesbild::io::write_table(&output, &table)?;
    write_params(&output, serde_json::json!({"method": "optimized hot spots (Gi*, FDR)", "choices": r.choices, "library": LIBRARY}))?;
    println!("{}", serde_json::to_string_pretty(&r.choices)?);
    Ok(())
}

fn emerging(store: &dyn Store, cell: f64, step_days: i64, distance: Option<f64>, time_steps: usize, alpha: f64, hex: bool, output: PathBuf) -> Result<()> {
    use lagesbild::io::{Column, ColumnKind, Value};
    use lagesbild::stats::*;
    let inc = store_points(store)?;
    if inc.is_empty() {
        bail!("the store has no point-precision incidents");
    }
    let shape = if hex { lagesbild::spatial::grid::Shape::Hexagon } else { lagesbild::spatial::grid::Shape::Square };
    let grid = lagesbild::spatial::grid::GridSpec { cell_size_m: cell, shape };
    let pts: Vec<([f64; 2], chrono::NaiveDateTime)> = inc.iter().map(|i| ([i.location.x(), i.location.y()], i.occurred_at)).collect();
    let cube = lagesbild::spatial::grid::space_time_cube(&pts, &grid, step_days).context("no incidents")?;
    let (cells, counts, start, steps) = (cube.cells, cube.counts, cube.start, cube.steps);
    let xy: Vec<[f64; 2]> = cells.iter().map(|c| c.centre).collect();
    let params = emerging::EmergingParams { distance: distance.unwrap_or(cell * 1.5), time_steps, alpha };
    let r = emerging::emerging_hot_spots(&xy, &counts, &params)?;
    let table = lagesbild::io::Table {
        name: "emerging_hotspots".into(),
        epsg: Some(3006),
        columns: vec![
            Column::new("cell_id", ColumnKind::Text),
            Column::new("pattern", ColumnKind::Text),
            Column::new("pattern_sv", ColumnKind::Text),
            Column::new("incidents", ColumnKind::Integer),
            Column::new("hot_steps", ColumnKind::Integer),
            Column::new("cold_steps", ColumnKind::Integer),
            Column::new("trend_z", ColumnKind::Real),
            Column::new("trend_p", ColumnKind::Real),
            Column::new("trend_tau", ColumnKind::Real),
        ],
        rows: cells
            .iter()
            .enumerate()
            .map(|(i, c)| lagesbild::io::TableRow {
                values: vec![
                    Value::from(c.id.clone()),
                    Value::from(serde_json::to_value(r.pattern[i]).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()),
                    Value::from(r.pattern[i].label_sv()),
                    Value::Int(counts[i].iter().sum::<f64>() as i64),
                    Value::Int(r.significance[i].iter().filter(|s| **s > 0).count() as i64),
                    Value::Int(r.significance[i].iter().filter(|s| **s < 0).count() as i64),
                    Value::from(r.trend[i].z),
                    Value::from(r.trend[i].p),
                    Value::from(r.trend[i].tau),
                ],
                geometry: Some(c.polygon.clone().into()),
            })
            .collect(),
    };
    lagesbild::io::write_table(&output, &table)?;
    let mut tally: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in &r.pattern {
        *tally.entry(p.label_sv()).or_default() += 1;
    }
    write_params(
        &output,
        serde_json::json!({"method": "emerging hot spots (space-time Gi*, FDR, Mann-Kendall)", "cell_size_m": cell, "time_step_days": step_days, "steps": steps, "first_step_starts": start.to_string(), "params": params, "unverified": "significance and trend thresholds are not verified against ArcGIS", "library": LIBRARY}),
    )?;
    println!("wrote {} cells × {steps} steps to {}: {:?}", cells.len(), output.display(), tally);
    Ok(())
}

fn rates(
    input: PathBuf,
    events: String,
    population: String,
    weights: lagesbild::analysis::WeightsSpec,
    tolerance: f64,
    crs: Option<String>,
    layer: Option<String>,
    output: PathBuf,
) -> Result<()> {
    use lagesbild::io::{Column, ColumnKind, Value};
    use lagesbild::stats::*;
    let to = crs.as_deref().map(parse_epsg).transpose()?;
    let lay = lagesbild::analysis::load(&input, layer.clone(), &events, to)?;
    let pop = lagesbild::analysis::load(&input, layer, &population, to)?;
    let w = lagesbild::analysis::build_weights(&lay, &weights, tolerance)?;
    let r = smoothing::rates(&lay.y, &pop.y).map_err(|e| anyhow::anyhow!("{}: {e}", lay.file))?;
    let sr = smoothing::spatial_rates(&lay.y, &pop.y, &w).map_err(|e| anyhow::anyhow!("{}: {e}", lay.file))?;
    let per = |v: &[f64]| v.iter().map(|x| Value::from(1000.0 * x)).collect::<Vec<_>>();
    let table = lagesbild::analysis::with_results(
        &lay,
        "rates",
        vec![
            (Column::new("rate_crude_per_1000", ColumnKind::Real), per(&r.crude)),
            (Column::new("rate_eb_per_1000", ColumnKind::Real), per(&r.eb)),
            (Column::new("rate_eb_clipped_per_1000", ColumnKind::Real), per(&r.eb_clipped)),
            (Column::new("rate_spatial_per_1000", ColumnKind::Real), per(&sr.spatial_rate)),
            (Column::new("rate_seb_per_1000", ColumnKind::Real), per(&sr.spatial_eb)),
            (Column::new("excess_risk", ColumnKind::Real), r.excess_risk.iter().map(|x| Value::from(*x)).collect()),
            (Column::new("rate_ar_z", ColumnKind::Real), r.assuncao_reis.iter().map(|x| Value::from(*x)).collect()),
        ],
    );
    lagesbild::io::write_table(&output, &table)?;
    write_params(
        &output,
        serde_json::json!({"method": "rates (Marshall 1991 EB; Assunção & Reis 1999)", "events": events, "population": population, "mean_rate_per_1000": 1000.0 * r.m, "prior_variance": r.a, "clipped": r.a < 0.0, "weights": w.kind, "tolerance_m": tolerance, "library": LIBRARY}),
    )?;
    println!(
        "wrote rates for {} areas to {} (mean {:.2} per 1 000{})",
        lay.y.len(),
        output.display(),
        1000.0 * r.m,
        if r.a < 0.0 { "; prior variance < 0: esda's EB leaves [0,1], the clipped EB equals the mean" } else { "" }
    );
    Ok(())
}
