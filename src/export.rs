//! `lagesbild export LAYER`: store layers as GeoPackage, GeoJSON or CSV.

use crate::io::{write_table, Column, ColumnKind, IoError, Table, TableRow, Value};
use crate::store::{Store, StoreError};
use crate::summary;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown layer '{0}' (layers: areas, indicators, incidents, imports, summary)")]
    UnknownLayer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] IoError),
}

pub const LAYERS: &[&str] = &["areas", "indicators", "incidents", "imports", "summary"];

/// Builds a store layer as a table (geometries in EPSG:3006).
pub fn layer_table(store: &dyn Store, layer: &str) -> Result<Table, ExportError> {
    use ColumnKind::*;
    let cols = |spec: &[(&str, ColumnKind)]| spec.iter().map(|(n, k)| Column::new(n, *k)).collect::<Vec<_>>();
    Ok(match layer {
        "areas" => Table {
            name: "areas".into(),
            epsg: Some(3006),
            columns: cols(&[("deso", Text), ("regso", Text), ("regso_name", Text), ("kommun", Text), ("version", Text), ("population", Real)]),
            rows: store
                .areas()?
                .into_iter()
                .map(|a| TableRow {
                    values: vec![a.deso.into(), a.regso.into(), a.regso_name.into(), a.kommun.into(), a.version.into(), a.population.into()],
                    geometry: Some(a.geometry.into()),
                })
                .collect(),
        },
        "indicators" => Table {
            name: "indicators".into(),
            epsg: None,
            columns: cols(&[("deso", Text), ("year", Integer), ("indicator", Text), ("value", Real), ("source", Text)]),
            rows: store
                .indicators()?
                .into_iter()
                .map(|v| TableRow { values: vec![v.deso.into(), (v.year as i64).into(), v.indicator.into(), v.value.into(), v.source.into()], geometry: None })
                .collect(),
        },
        "incidents" => Table {
            name: "incidents".into(),
            epsg: Some(3006),
            columns: cols(&[
                ("id", Text),
                ("category", Text),
                ("source_label", Text),
                ("occurred_at", Text),
                ("reported_by", Text),
                ("precision", Text),
                ("description", Text),
                ("import_id", Text),
            ]),
            rows: store
                .incidents()?
                .into_iter()
                .map(|i| TableRow {
                    values: vec![
                        i.id.into(),
                        i.category.as_str().into(),
                        i.source_label.into(),
                        crate::model::time::with_offset(i.occurred_at).into(),
                        i.reported_by.into(),
                        i.precision.as_str().into(),
                        i.description.into(),
                        i.import_id.into(),
                    ],
                    geometry: Some(i.location.into()),
                })
                .collect(),
        },
        "imports" => Table {
            name: "imports".into(),
            epsg: None,
            columns: cols(&[
                ("import_id", Text),
                ("kind", Text),
                ("file_name", Text),
                ("sha256", Text),
                ("imported_at", Text),
                ("accepted", Integer),
                ("rejected", Integer),
            ]),
            rows: store
                .imports()?
                .into_iter()
                .map(|r| TableRow {
                    values: vec![
                        r.import_id.into(),
                        r.kind.into(),
                        r.file_name.into(),
                        r.sha256.into(),
                        r.imported_at.into(),
                        (r.accepted as i64).into(),
                        (r.rejected as i64).into(),
                    ],
                    geometry: None,
                })
                .collect(),
        },
        "summary" => summary_table(store, None)?,
        other => return Err(ExportError::UnknownLayer(other.to_string())),
    })
}

/// Counts per area × category × ISO week as a table.
pub fn summary_table(store: &dyn Store, version: Option<&str>) -> Result<Table, ExportError> {
    let areas = store.areas()?;
    let sel = summary::select_edition(&areas, version);
    let pop = summary::population_by_area(&areas, &store.indicators()?);
    let (s, _) = summary::summarise_store(store, &sel, &pop)?;
    Ok(table_of_summary(s))
}

/// A summary already counted as a table (one row per area × category × week).
pub fn table_of_summary(s: summary::Summary) -> Table {
    use ColumnKind::*;
    Table {
        name: "summary".into(),
        epsg: None,
        columns: [
            ("deso", Text),
            ("regso", Text),
            ("regso_name", Text),
            ("category", Text),
            ("iso_week", Text),
            ("count", Integer),
            ("population", Real),
            ("rate_per_1000", Real),
        ]
        .iter()
        .map(|(n, k)| Column::new(n, *k))
        .collect(),
        rows: s
            .rows
            .into_iter()
            .map(|r| TableRow {
                values: vec![
                    r.deso.into(),
                    r.regso.into(),
                    r.regso_name.into(),
                    r.category.as_str().into(),
                    r.iso_week.into(),
                    Value::Int(r.count as i64),
                    r.population.into(),
                    r.rate_per_1000.into(),
                ],
                geometry: None,
            })
            .collect(),
    }
}

pub fn export(store: &dyn Store, layer: &str, output: &Path) -> Result<usize, ExportError> {
    let t = layer_table(store, layer)?;
    write_table(output, &t)?;
    Ok(t.rows.len())
}
