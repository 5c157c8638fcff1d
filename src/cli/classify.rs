//! `lagesbild classify …`: områdestyp, index, housing, EST weekly status, socioeconomic index, goals.

use super::read_json;
use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use lagesbild::classify::*;
use lagesbild::io::{Column, ColumnKind, Table, TableRow, Value};
use lagesbild::picture::{AreaPicture, EstAreas, EstWeeks, Rules};
use lagesbild::store::Store;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum Level {
    Deso,
    Regso,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PeriodArg {
    Tertial,
    Year,
}

#[derive(Subcommand)]
pub enum ClassifyCmd {
    /// Områdestyp per DeSO from SCB's RegSO table, joined by name through SCB's key; stored as
    /// the indicator `omradestyp`. Unmatched names are reported.
    Omradestyp {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        types: PathBuf,
        /// Year of the types (default: the table's header).
        #[arg(long)]
        year: Option<i32>,
    },
    /// Composite life-conditions index per DeSO or RegSO.
    Index {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "deso")]
        level: Level,
        #[arg(long)]
        output: PathBuf,
    },
    /// Dominant tenure, tenure mix and crowding class per DeSO.
    Housing {
        #[arg(long)]
        output: PathBuf,
    },
    /// EST weekly status (green/yellow/red) per area and week; counts per tertial or year.
    Est {
        #[arg(long, value_enum, default_value = "deso")]
        level: Level,
        /// Named custom areas (polygons, e.g. "Tureberg") instead of DeSO/RegSO.
        #[arg(long)]
        custom_areas: Option<PathBuf>,
        #[arg(long, default_value = "name")]
        name_field: String,
        #[arg(long, value_enum, default_value = "tertial")]
        period: PeriodArg,
        #[arg(long)]
        rule: Option<PathBuf>,
        /// Counts of green/yellow/red weeks per area and period.
        #[arg(long)]
        output: PathBuf,
        /// Also write every area × week status here.
        #[arg(long)]
        weeks: Option<PathBuf>,
    },
    /// SCB's socioeconomic index from its three parts (indicator names in the store) and types
    /// derived from it by mean ± k·SD, always labelled "derived", never SCB's official type.
    Socioeconomic {
        /// Share with low economic standard (%).
        #[arg(long, default_value = "low_econ")]
        low_econ: String,
        /// Share aged 20–64 with only förgymnasial education (%).
        #[arg(long, default_value = "low_education")]
        education: String,
        /// Share aged 20–64 with long income support or long unemployment (%).
        #[arg(long, default_value = "long_support")]
        support: String,
        /// Cut points in standard deviations, from type 1 to type 4 (default 1.5,0.5,-0.5,-1.5).
        #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
        k: Vec<f64>,
        #[arg(long)]
        output: PathBuf,
    },
    /// Goal status for a JSON list of goals.
    Goals {
        #[arg(long)]
        config: PathBuf,
    },
}

pub fn run(store: &dyn Store, cmd: ClassifyCmd) -> Result<()> {
    match cmd {
        ClassifyCmd::Omradestyp { key, types, year } => omradestyp_cmd(store, &key, &types, year),
        ClassifyCmd::Index { config, level, output } => {
            let cfg: index::IndexConfig = match config {
                Some(p) => read_json(&p)?,
                None => Default::default(),
            };
            index_cmd(&picture(store)?, &cfg, level, &output)
        }
        ClassifyCmd::Housing { output } => housing_cmd(&picture(store)?, &output),
        ClassifyCmd::Est { level, custom_areas, name_field, period, rule, output, weeks } => {
            let rule: est::EstRule = match rule {
                Some(p) => read_json(&p)?,
                None => Default::default(),
            };
            let custom = match &custom_areas {
                Some(p) => Some(read_custom_areas(p, &name_field)?),
                None => None,
            };
            let pic = picture(store)?;
            let areas = match &custom {
                Some((names, polys)) => EstAreas::Custom(names, polys),
                None => EstAreas::Level(level.into()),
            };
            let e = pic.est_weeks(areas, &rule).context("the store has no point-precision incidents")?;
            let p = match period {
                PeriodArg::Tertial => est::Period::Tertial,
                PeriodArg::Year => est::Period::Year,
            };
            est_output(&e, &rule, p, &output, weeks.as_deref())
        }
        ClassifyCmd::Socioeconomic { low_econ, education, support, k, output } => {
            let mut rule = omradestyp::DerivedRule::default();
            if !k.is_empty() {
                rule.k = k.as_slice().try_into().map_err(|_| anyhow::anyhow!("--k needs four numbers, got {}", k.len()))?;
            }
            socioeconomic_cmd(&picture(store)?, [&low_econ, &education, &support], &rule, &output)
        }
        ClassifyCmd::Goals { config } => {
            let goals: Vec<goals::Goal> = read_json(&config)?;
            let pic = picture(store)?;
            let mut out = Vec::new();
            for g in &goals {
                let p = lagesbild::profile::build(&pic, &g.area, &lagesbild::profile::ProfileOptions { goals: vec![g.clone()], ..Default::default() })?;
                out.extend(p.goals);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
    }
}

/// The newest DeSO edition of the store, every municipality.
fn picture(store: &dyn Store) -> Result<AreaPicture> {
    Ok(AreaPicture::from_store(store, Rules::default())?)
}

impl From<Level> for lagesbild::picture::Level {
    fn from(l: Level) -> Self {
        match l {
            Level::Deso => lagesbild::picture::Level::Deso,
            Level::Regso => lagesbild::picture::Level::Regso,
        }
    }
}

/// Named polygons for EST, in EPSG:3006.
fn read_custom_areas(p: &Path, name_field: &str) -> Result<(Vec<String>, Vec<geo::MultiPolygon<f64>>)> {
    let (data, polys) = lagesbild::io::read_polygons(p)?;
    let names = data
        .records
        .iter()
        .map(|r| {
            r.get(name_field).map(str::to_string).with_context(|| format!("{}: no field '{name_field}' (fields: {})", data.file_name, data.columns.join(", ")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((names, polys))
}

fn omradestyp_cmd(store: &dyn Store, key: &Path, types: &Path, year: Option<i32>) -> Result<()> {
    let all = store.areas()?;
    let areas: Vec<&lagesbild::model::Area> = lagesbild::summary::select_edition(&all, None);
    let (t, header_year) = omradestyp::read_types(types)?;
    let k = lagesbild::io::scb::read_key(key)?;
    let desos: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
    let inh = omradestyp::inherit(&t, &k, &desos);
    for u in &inh.unmatched_regso {
        eprintln!("warning: RegSO {u} from the key has no row in {}", types.display());
    }
    for u in &inh.unmatched_deso {
        eprintln!("warning: DeSO {u} is not in {} (nor its 2018 parent)", key.display());
    }
    for u in &inh.unused_type_rows {
        eprintln!("note: {u} in {} matches no DeSO in the store", types.display());
    }
    let year = year.or(header_year).context("the types file has no year in its header; pass --year")?;
    if store.indicators()?.iter().any(|v| v.indicator == "omradestyp" && v.year == year) {
        bail!("områdestyp for {year} is already in the store");
    }
    let values = lagesbild::profile::omradestyp_values(&inh, year, "SCB 000005QX (områdestyp per RegSO)");
    let sha = lagesbild::io::sha256_file(types)?;
    let record = lagesbild::model::ImportRecord {
        import_id: format!("omradestyp-{}", &sha[..12]),
        kind: "classification".into(),
        file_name: types.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256: sha,
        imported_at: lagesbild::model::time::now_utc_text(),
        accepted: values.len() as u64,
        rejected: (inh.unmatched_deso.len() + desos.len() - inh.per_deso.len() - inh.unmatched_deso.len()) as u64,
        imported_by: "cli".into(),
    };
    store.write_import(&lagesbild::store::ImportBatch::Indicators(values.clone()), &record)?;
    let mut by_type = [0usize; 6];
    for v in &values {
        by_type[v.value as usize] += 1;
    }
    println!(
        "områdestyp {year} stored for {} of {} DeSO (type 1: {}, 2: {}, 3: {}, 4: {}, 5: {}); {} unmatched RegSO, {} unmatched DeSO",
        values.len(),
        desos.len(),
        by_type[1],
        by_type[2],
        by_type[3],
        by_type[4],
        by_type[5],
        inh.unmatched_regso.len(),
        inh.unmatched_deso.len()
    );
    Ok(())
}

fn index_cmd(pic: &AreaPicture, cfg: &index::IndexConfig, level: Level, output: &Path) -> Result<()> {
    let result = pic.index(cfg, level.into());
    let rows = &result.rows;
    let mut columns = vec![
        Column::new("area", ColumnKind::Text),
        Column::new("score", ColumnKind::Real),
        Column::new("rank", ColumnKind::Integer),
        Column::new("quintile", ColumnKind::Integer),
        Column::new("missing", ColumnKind::Text),
    ];
    for v in &cfg.variables {
        columns.push(Column::new(&format!("contrib_{}", v.indicator), ColumnKind::Real));
    }
    let geom_of = |unit: &str| -> Option<geo::Geometry<f64>> { result.outlines.get(unit).map(|m| m.clone().into()) };
    let t = Table {
        name: "life_conditions_index".into(),
        epsg: Some(3006),
        columns,
        rows: rows
            .iter()
            .map(|r| {
                let mut values = vec![
                    Value::from(r.area.clone()),
                    Value::from(r.score),
                    r.rank.map(|x| Value::Int(x as i64)).unwrap_or(Value::Null),
                    r.quintile.map(|x| Value::Int(x as i64)).unwrap_or(Value::Null),
                    Value::from(r.missing.join(",")),
                ];
                for v in &cfg.variables {
                    values.push(Value::from(r.contributions.get(&v.indicator).copied()));
                }
                TableRow { values, geometry: geom_of(&r.area) }
            })
            .collect(),
    };
    lagesbild::io::write_table(output, &t)?;
    let missing = rows.iter().filter(|r| r.score.is_none()).count();
    println!("wrote the index of {} areas to {} ({missing} without a score because of missing inputs)", rows.len(), output.display());
    for r in rows.iter().filter(|r| !r.missing.is_empty()).take(10) {
        eprintln!("  {}: missing {}", r.area, r.missing.join(", "));
    }
    Ok(())
}

fn housing_cmd(pic: &AreaPicture, output: &Path) -> Result<()> {
    let t = Table {
        name: "housing_classes".into(),
        epsg: Some(3006),
        columns: vec![
            Column::new("deso", ColumnKind::Text),
            Column::new("regso_name", ColumnKind::Text),
            Column::new("dominant_tenure", ColumnKind::Text),
            Column::new("rental_share_pct", ColumnKind::Real),
            Column::new("tenure_diversity", ColumnKind::Real),
            Column::new("crowding_pct", ColumnKind::Real),
            Column::new("crowding_class", ColumnKind::Text),
        ],
        rows: pic
            .areas
            .iter()
            .map(|f| {
                let (a, h, c) = (&f.area, f.housing.clone(), f.latest("crowding_pct"));
                TableRow {
                    values: vec![
                        a.deso.clone().into(),
                        a.regso_name.clone().into(),
                        h.dominant_tenure.into(),
                        h.rental_share_pct.into(),
                        h.tenure_diversity.into(),
                        c.into(),
                        h.crowding_class.map(Value::from).unwrap_or(Value::Null),
                    ],
                    geometry: Some(a.geometry.clone().into()),
                }
            })
            .collect(),
    };
    lagesbild::io::write_table(output, &t)?;
    println!("wrote housing classes of {} DeSO to {}", pic.areas.len(), output.display());
    Ok(())
}

fn est_output(e: &EstWeeks, rule: &est::EstRule, p: est::Period, output: &Path, weeks: Option<&Path>) -> Result<()> {
    let counts = est::period_counts(&e.statuses, p);
    let t = Table {
        name: "est_periods".into(),
        epsg: None,
        columns: vec![
            Column::new("area", ColumnKind::Text),
            Column::new("period", ColumnKind::Text),
            Column::new("green_weeks", ColumnKind::Integer),
            Column::new("yellow_weeks", ColumnKind::Integer),
            Column::new("red_weeks", ColumnKind::Integer),
            Column::new("rule", ColumnKind::Text),
        ],
        rows: counts
            .iter()
            .map(|c| TableRow {
                values: vec![
                    c.area.clone().into(),
                    c.period.clone().into(),
                    Value::Int(c.green as i64),
                    Value::Int(c.yellow as i64),
                    Value::Int(c.red as i64),
                    rule.describe_sv().into(),
                ],
                geometry: None,
            })
            .collect(),
    };
    lagesbild::io::write_table(output, &t)?;
    if let Some(wpath) = weeks {
        let t = Table {
            name: "est_weeks".into(),
            epsg: None,
            columns: vec![
                Column::new("area", ColumnKind::Text),
                Column::new("iso_week", ColumnKind::Text),
                Column::new("incidents", ColumnKind::Integer),
                Column::new("score", ColumnKind::Real),
                Column::new("status", ColumnKind::Text),
            ],
            rows: e
                .statuses
                .iter()
                .map(|s| TableRow {
                    values: vec![s.area.clone().into(), s.iso_week.clone().into(), Value::Int(s.incidents as i64), s.score.into(), s.status.label_sv().into()],
                    geometry: None,
                })
                .collect(),
        };
        lagesbild::io::write_table(wpath, &t)?;
    }
    let last_week = e.weeks.last().cloned().unwrap_or_default();
    println!(
        "EST {} areas × {} weeks ({}..{}); rule: {}",
        e.areas.len(),
        e.weeks.len(),
        e.weeks.first().cloned().unwrap_or_default(),
        last_week,
        rule.describe_sv()
    );
    let ch = est::changes_since_last_week(&e.statuses, &last_week);
    println!("changes in {last_week} since the week before: {}", if ch.is_empty() { "none".to_string() } else { String::new() });
    for c in ch {
        println!("  {}: {} → {} (score {} → {})", c.area, c.from.label_sv(), c.to.label_sv(), c.score_before, c.score_now);
    }
    Ok(())
}

fn socioeconomic_cmd(pic: &AreaPicture, parts: [&str; 3], rule: &omradestyp::DerivedRule, output: &Path) -> Result<()> {
    let r = pic.socioeconomic(parts, rule);
    let t = Table {
        name: "socioeconomic_index".into(),
        epsg: Some(3006),
        columns: vec![
            Column::new("deso", ColumnKind::Text),
            Column::new("regso_name", ColumnKind::Text),
            Column::new("index", ColumnKind::Real),
            Column::new("derived_type", ColumnKind::Integer),
            Column::new("type_label", ColumnKind::Text),
        ],
        rows: pic
            .areas
            .iter()
            .map(|f| &f.area)
            .zip(&r.types)
            .map(|(a, d)| TableRow {
                values: vec![
                    a.deso.clone().into(),
                    a.regso_name.clone().into(),
                    d.as_ref().map(|d| d.index).into(),
                    d.as_ref().map(|d| Value::Int(d.typ as i64)).unwrap_or(Value::Null),
                    d.as_ref().map(|d| Value::from(d.label)).unwrap_or(Value::Null),
                ],
                geometry: Some(a.geometry.clone().into()),
            })
            .collect(),
    };
    lagesbild::io::write_table(output, &t)?;
    println!(
        "index for {} of {} DeSO (mean {:.2}, SD {:.2}; types {}) to {}",
        r.scored,
        pic.areas.len(),
        r.mean,
        r.sd,
        omradestyp::DERIVED_LABEL,
        output.display()
    );
    if !r.missing.is_empty() {
        eprintln!(
            "{} DeSO lack a part and get no index (never imputed): {}",
            r.missing.len(),
            r.missing.iter().take(10).cloned().collect::<Vec<_>>().join("; ")
        );
    }
    Ok(())
}
