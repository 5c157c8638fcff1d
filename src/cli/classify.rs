//! `lagesbild classify …`: områdestyp, index, housing, EST weekly status, socioeconomic index, goals.

use super::read_json;
use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use lagesbild::store::{GpkgStore, Store};
use std::path::PathBuf;

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

pub fn run(store: &GpkgStore, cmd: ClassifyCmd) -> Result<()> {
    use lagesbild::classify::*;
    use lagesbild::io::{Column, ColumnKind, Table, TableRow, Value};
    let all = store.areas()?;
    let areas: Vec<lagesbild::model::Area> = lagesbild::summary::select_edition(&all, None).into_iter().cloned().collect();
    match cmd {
        ClassifyCmd::Omradestyp { key, types, year } => {
            let (t, header_year) = omradestyp::read_types(&types)?;
            let k = omradestyp::read_key(&key)?;
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
            let sha = lagesbild::io::sha256_file(&types)?;
            let record = lagesbild::model::ImportRecord {
                import_id: format!("omradestyp-{}", &sha[..12]),
                kind: "classification".into(),
                file_name: types.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                sha256: sha,
                imported_at: chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                accepted: values.len() as u64,
                rejected: (inh.unmatched_deso.len() + desos.len() - inh.per_deso.len() - inh.unmatched_deso.len()) as u64,
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
        }
        ClassifyCmd::Index { config, level, output } => {
            let cfg: index::IndexConfig = match config {
                Some(p) => read_json(&p)?,
                None => Default::default(),
            };
            let ind = store.indicators()?;
            let pop = lagesbild::summary::population_by_area(&all, &ind);
            let mut latest: std::collections::BTreeMap<(String, String), (i32, f64)> = Default::default();
            for v in &ind {
                let e = latest.entry((v.deso.clone(), v.indicator.clone())).or_insert((v.year, v.value));
                if v.year > e.0 {
                    *e = (v.year, v.value);
                }
            }
            let mut groups: std::collections::BTreeMap<String, Vec<&lagesbild::model::Area>> = Default::default();
            for a in &areas {
                groups.entry(if level == Level::Deso { a.deso.clone() } else { a.regso.clone() }).or_default().push(a);
            }
            let mut table: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> = Default::default();
            for (unit, members) in &groups {
                let mut m = std::collections::BTreeMap::new();
                for var in &cfg.variables {
                    let vals: Vec<(f64, f64)> = members
                        .iter()
                        .filter_map(|a| latest.get(&(a.deso.clone(), var.indicator.clone())).map(|(_, v)| (*v, pop.get(&a.deso).copied().unwrap_or(1.0))))
                        .collect();
                    let w: f64 = vals.iter().map(|v| v.1).sum();
                    if !vals.is_empty() && w > 0.0 {
                        m.insert(var.indicator.clone(), vals.iter().map(|v| v.0 * v.1).sum::<f64>() / w);
                    }
                }
                table.insert(unit.clone(), m);
            }
            let rows = index::composite(&table, &cfg);
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
            let geom_of = |unit: &str| -> Option<geo::Geometry<f64>> {
                let mut mp = geo::MultiPolygon(vec![]);
                for a in groups.get(unit)? {
                    mp.0.extend(a.geometry.0.iter().cloned());
                }
                Some(mp.into())
            };
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
            lagesbild::io::write_table(&output, &t)?;
            let missing = rows.iter().filter(|r| r.score.is_none()).count();
            println!("wrote the index of {} areas to {} ({missing} without a score because of missing inputs)", rows.len(), output.display());
            for r in rows.iter().filter(|r| !r.missing.is_empty()).take(10) {
                eprintln!("  {}: missing {}", r.area, r.missing.join(", "));
            }
        }
        ClassifyCmd::Housing { output } => {
            let ind = store.indicators()?;
            let get = |d: &str, n: &str| ind.iter().filter(|v| v.deso == d && v.indicator == n).max_by_key(|v| v.year).map(|v| v.value);
            let rule = housing::CrowdingRule::default();
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
                rows: areas
                    .iter()
                    .map(|a| {
                        let c = get(&a.deso, "crowding_pct");
                        let h = housing::classify_housing(
                            get(&a.deso, "tenure_hyresratt"),
                            get(&a.deso, "tenure_bostadsratt"),
                            get(&a.deso, "tenure_aganderatt"),
                            c,
                            &rule,
                        );
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
            lagesbild::io::write_table(&output, &t)?;
            println!("wrote housing classes of {} DeSO to {}", areas.len(), output.display());
        }
        ClassifyCmd::Est { level, custom_areas, name_field, period, rule, output, weeks } => {
            let rule: est::EstRule = match rule {
                Some(p) => read_json(&p)?,
                None => Default::default(),
            };
            let inc: Vec<lagesbild::model::Incident> = store.incidents()?.into_iter().filter(|i| i.precision.is_point_statistic()).collect();
            if inc.is_empty() {
                bail!("the store has no point-precision incidents");
            }
            let (names, polys): (Vec<String>, Vec<geo::MultiPolygon<f64>>) = match &custom_areas {
                Some(p) => {
                    let (data, polys) = lagesbild::io::read_polygons(p)?;
                    let names = data
                        .records
                        .iter()
                        .map(|r| {
                            r.get(&name_field)
                                .map(str::to_string)
                                .with_context(|| format!("{}: no field '{name_field}' (fields: {})", data.file_name, data.columns.join(", ")))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    (names, polys)
                }
                None => (areas.iter().map(|a| a.deso.clone()).collect(), areas.iter().map(|a| a.geometry.clone()).collect()),
            };
            // Custom areas may overlap: each polygon counts independently.
            use geo::Intersects;
            let mut list: Vec<(Vec<String>, &lagesbild::model::Incident)> = Vec::new();
            for i in &inc {
                let hit: Vec<String> = if custom_areas.is_some() {
                    names.iter().zip(&polys).filter(|(_, p)| p.intersects(&i.location)).map(|(n, _)| n.clone()).collect()
                } else {
                    vec![]
                };
                list.push((hit, i));
            }
            if custom_areas.is_none() {
                let idx = lagesbild::spatial::AreaIndex::new(&polys, &names.iter().map(|s| s.as_str()).collect::<Vec<_>>());
                for (entry, i) in list.iter_mut().zip(&inc) {
                    if let (Some(a), _) = idx.locate(i.location.x(), i.location.y()) {
                        let a = &areas[a as usize];
                        entry.0 = vec![if level == Level::Deso { a.deso.clone() } else { format!("{} {}", a.regso, a.regso_name) }];
                    }
                }
            }
            let area_names: Vec<String> = if custom_areas.is_some() {
                names.clone()
            } else if level == Level::Deso {
                areas.iter().map(|a| a.deso.clone()).collect()
            } else {
                let mut v: Vec<String> = areas.iter().map(|a| format!("{} {}", a.regso, a.regso_name)).collect();
                v.sort();
                v.dedup();
                v
            };
            let first = inc.iter().map(|i| i.occurred_at.date()).min().expect("non-empty");
            let last = inc.iter().map(|i| i.occurred_at.date()).max().expect("non-empty");
            let wk = est::weeks_between(first, last);
            let statuses = est::weekly_status(&area_names, &wk, &list, &rule);
            let p = match period {
                PeriodArg::Tertial => est::Period::Tertial,
                PeriodArg::Year => est::Period::Year,
            };
            let counts = est::period_counts(&statuses, p);
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
            lagesbild::io::write_table(&output, &t)?;
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
                    rows: statuses
                        .iter()
                        .map(|s| TableRow {
                            values: vec![
                                s.area.clone().into(),
                                s.iso_week.clone().into(),
                                Value::Int(s.incidents as i64),
                                s.score.into(),
                                s.status.label_sv().into(),
                            ],
                            geometry: None,
                        })
                        .collect(),
                };
                lagesbild::io::write_table(&wpath, &t)?;
            }
            let last_week = wk.last().cloned().unwrap_or_default();
            println!(
                "EST {} areas × {} weeks ({}..{}); rule: {}",
                area_names.len(),
                wk.len(),
                wk.first().cloned().unwrap_or_default(),
                last_week,
                rule.describe_sv()
            );
            let ch = est::changes_since_last_week(&statuses, &last_week);
            println!("changes in {last_week} since the week before: {}", if ch.is_empty() { "none".to_string() } else { String::new() });
            for c in ch {
                println!("  {}: {} → {} (score {} → {})", c.area, c.from.label_sv(), c.to.label_sv(), c.score_before, c.score_now);
            }
        }
        ClassifyCmd::Socioeconomic { low_econ, education, support, k, output } => {
            let ind = store.indicators()?;
            let latest = |d: &str, n: &str| ind.iter().filter(|v| v.deso == d && v.indicator == n).max_by_key(|v| v.year).map(|v| v.value);
            let mut rule = omradestyp::DerivedRule::default();
            if !k.is_empty() {
                rule.k = k.as_slice().try_into().map_err(|_| anyhow::anyhow!("--k needs four numbers, got {}", k.len()))?;
            }
            let parts: Vec<[Option<f64>; 3]> =
                areas.iter().map(|a| [latest(&a.deso, &low_econ), latest(&a.deso, &education), latest(&a.deso, &support)]).collect();
            let index: Vec<Option<f64>> = parts.iter().map(|p| omradestyp::socioeconomic_index(p[0], p[1], p[2])).collect();
            let (types, mean, sd) = omradestyp::derive_types(&index, &rule);
            let missing: Vec<String> = areas
                .iter()
                .zip(&parts)
                .filter(|(_, p)| p.iter().any(|x| x.is_none()))
                .map(|(a, p)| {
                    let names: Vec<&str> = [&low_econ, &education, &support].iter().zip(p).filter(|(_, v)| v.is_none()).map(|(n, _)| n.as_str()).collect();
                    format!("{} ({})", a.deso, names.join(", "))
                })
                .collect();
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
                rows: areas
                    .iter()
                    .zip(&types)
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
            lagesbild::io::write_table(&output, &t)?;
            println!(
                "index for {} of {} DeSO (mean {:.2}, SD {:.2}; types {}) to {}",
                index.iter().filter(|x| x.is_some()).count(),
                areas.len(),
                mean,
                sd,
                omradestyp::DERIVED_LABEL,
                output.display()
            );
            if !missing.is_empty() {
                eprintln!(
                    "{} DeSO lack a part and get no index (never imputed): {}",
                    missing.len(),
                    missing.iter().take(10).cloned().collect::<Vec<_>>().join("; ")
                );
            }
        }
        ClassifyCmd::Goals { config } => {
            let goals: Vec<goals::Goal> = read_json(&config)?;
            let mut out = Vec::new();
            for g in &goals {
                let p = lagesbild::profile::build(store, &g.area, &lagesbild::profile::ProfileOptions { goals: vec![g.clone()], ..Default::default() })?;
                out.extend(p.goals);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}
