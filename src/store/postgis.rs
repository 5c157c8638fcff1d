//! The PostGIS store: the same tables as the GeoPackage (`areas`, `indicators`, `incidents`,
//! `imports`, walks) in a PostgreSQL database, so many `serve` processes can share one store.
//!
//! The driver is tokio-postgres behind a deadpool pool; geometry crosses the wire as EWKB through
//! geozero. The `Store` trait is synchronous, so each call runs its future on the store's own
//! small runtime (see [`PgStore::block`]). Every import is one transaction; a `COPY … BINARY`
//! streams incidents. The schema comes from the versioned migrations in `migrations/postgis/`.

use super::{DeletedImport, ImportBatch, IncidentSink, Store, StoreError, StoredCounts};
use crate::model::{Area, Category, ImportRecord, Incident, IndicatorValue, Place, Precision, WORKING_EPSG};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use geozero::wkb;
use geozero::GeozeroGeometry;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;

/// The migrations, in order: (version, name, SQL). A new schema change is a new file and a new
/// line here; applied ones are recorded in `lagesbild_migrations` and never run again.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "initial_schema", include_str!("../../migrations/postgis/V1__initial_schema.sql")),
    (2, "places", include_str!("../../migrations/postgis/V2__places.sql")),
    (3, "walks_in_the_field", include_str!("../../migrations/postgis/V3__walks_in_the_field.sql")),
    (4, "audit_log_and_plan", include_str!("../../migrations/postgis/V4__audit_log_and_plan.sql")),
    (5, "gallring", include_str!("../../migrations/postgis/V5__gallring.sql")),
];

/// Any key the migrations take a transaction-scoped advisory lock on, so two processes starting
/// at once do not both create the schema.
const MIGRATION_LOCK: i64 = 0x6c61_6765_7362;

/// The channel the schema's trigger announces new data generations on.
pub const CHANGES_CHANNEL: &str = "lagesbild_changes";

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    rt: Arc<OwnRuntime>,
    /// `postgresql://user@host:port/db`, never the password.
    shown: String,
    config: tokio_postgres::Config,
}

/// The store's runtime; shut down without waiting when the last handle goes, because dropping a
/// runtime the ordinary way panics when that happens inside another runtime (an HTTP handler).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("the runtime lives as long as the store")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// True for a store location that names a PostgreSQL database rather than a file.
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://")
}

/// The URL as shown in logs and errors: the password is left out.
fn shown(c: &tokio_postgres::Config) -> String {
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!("postgresql://{}@{host}:{port}/{}", c.get_user().unwrap_or(""), c.get_dbname().unwrap_or(""))
}

impl PgStore {
    /// Connects (lazily: the first query opens the first connection) and applies any migration
    /// not yet applied. The password never reaches an error message.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| StoreError::Gdal {
            // The parser's message never echoes the URL, and the URL itself is not shown here.
            path: "postgresql://…".into(),
            reason: format!("not a PostgreSQL connection URL: {e}"),
        })?;
        let shown = shown(&config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lagesbild-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Gdal { path: shown.clone(), reason: e.to_string() })?;
        let mgr = Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr).max_size(8).build().map_err(|e| StoreError::Gdal { path: shown.clone(), reason: e.to_string() })?;
        let store = PgStore { pool, rt: Arc::new(OwnRuntime(Some(rt))), shown, config };
        store.migrate()?;
        Ok(store)
    }

    pub(crate) fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Gdal { path: self.shown.clone(), reason: e.to_string() }
    }

    /// Runs a future on the store's runtime and waits for it. Callers may themselves be inside a
    /// tokio runtime (the HTTP handlers), where blocking on another runtime is not allowed on the
    /// same thread, so there the wait happens on a scoped helper thread.
    pub(crate) fn block<F: Future + Send>(&self, fut: F) -> F::Output
    where
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.rt.get().block_on(fut);
        }
        std::thread::scope(|s| s.spawn(|| self.rt.get().block_on(fut)).join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    }

    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| self.err(e))
    }

    /// Applies the migrations not yet recorded, each in its own transaction, under an advisory
    /// lock. Returns the versions applied now.
    pub fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        self.block(async {
            let mut c = self.client().await?;
            let t = c.transaction().await.map_err(|e| self.err(e))?;
            t.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(|e| self.err(e))?;
            t.batch_execute("SET LOCAL client_min_messages = warning; CREATE TABLE IF NOT EXISTS lagesbild_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
                .await
                .map_err(|e| self.err(e))?;
            let done: HashSet<i32> = t.query("SELECT version FROM lagesbild_migrations", &[]).await.map_err(|e| self.err(e))?.iter().map(|r| r.get(0)).collect();
            let mut applied = Vec::new();
            for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| !done.contains(v)) {
                t.batch_execute(sql).await.map_err(|e| self.err(format!("migration {version} ({name}): {e}")))?;
                t.execute("INSERT INTO lagesbild_migrations (version, name) VALUES ($1, $2)", &[version, name]).await.map_err(|e| self.err(e))?;
                applied.push(*version);
            }
            t.commit().await.map_err(|e| self.err(e))?;
            Ok(applied)
        })
    }
}

/// A geometry in SWEREF 99 TM for geozero's EWKB encoder: the geometry itself plus its SRID, so
/// PostGIS accepts it in a `geometry(…, 3006)` column.
pub(crate) struct Sweref<'a>(&'a geo::Geometry<f64>);

impl GeozeroGeometry for Sweref<'_> {
    fn process_geom<P: geozero::GeomProcessor>(&self, p: &mut P) -> geozero::error::Result<()> {
        self.0.process_geom(p)
    }
    fn srid(&self) -> Option<i32> {
        Some(WORKING_EPSG as i32)
    }
}

pub(crate) fn ewkb(g: &geo::Geometry<f64>) -> wkb::Encode<Sweref<'_>> {
    wkb::Encode(Sweref(g))
}

fn pg(e: tokio_postgres::Error) -> String {
    // A database error's own message (with its detail) says more than the driver's summary.
    match e.as_db_error() {
        Some(db) => format!("{}{}", db.message(), db.detail().map(|d| format!(" ({d})")).unwrap_or_default()),
        None => e.to_string(),
    }
}

/// Why a stored row could not be read back into the model: the database holds something the
/// migrations never write (a hand edit in QGIS, a foreign tool).
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("{what}: {source}")]
    Column { what: String, source: tokio_postgres::Error },
    #[error("{what}: expected a polygon, found {found}")]
    NotPolygon { what: String, found: String },
    #[error("incident {id}: unknown category {value}")]
    Category { id: String, value: String },
    #[error("incident {id}: unknown precision {value}")]
    Precision { id: String, value: String },
}

fn column<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a tokio_postgres::Row, name: &str, what: impl Fn() -> String) -> Result<T, RowError> {
    r.try_get(name).map_err(|source| RowError::Column { what: what(), source })
}

fn polygon_column(r: &tokio_postgres::Row, what: impl Fn() -> String) -> Result<geo::MultiPolygon<f64>, RowError> {
    let g: wkb::Decode<geo::Geometry<f64>> = column(r, "geom", &what)?;
    match g.geometry {
        Some(geo::Geometry::MultiPolygon(m)) => Ok(m),
        Some(geo::Geometry::Polygon(p)) => Ok(geo::MultiPolygon(vec![p])),
        other => Err(RowError::NotPolygon { what: what(), found: format!("{other:?}") }),
    }
}

fn area_row(r: &tokio_postgres::Row) -> Result<Area, RowError> {
    let deso: String = column(r, "deso", || "area".into())?;
    let what = || format!("area {deso}");
    Ok(Area {
        geometry: polygon_column(r, what)?,
        regso: column(r, "regso", what)?,
        regso_name: column(r, "regso_name", what)?,
        kommun: column(r, "kommun", what)?,
        version: column(r, "version", what)?,
        population: column(r, "population", what)?,
        deso,
    })
}

fn place_row(r: &tokio_postgres::Row) -> Result<Place, RowError> {
    let name: String = column(r, "name", || "place".into())?;
    let what = || format!("place {name}");
    Ok(Place { geometry: polygon_column(r, what)?, kind: column(r, "kind", what)?, name })
}

fn incident_row(r: &tokio_postgres::Row) -> Result<Incident, RowError> {
    fn at<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a tokio_postgres::Row, i: usize) -> Result<T, RowError> {
        r.try_get(i).map_err(|source| RowError::Column { what: format!("incident column {i}"), source })
    }
    let id: String = at(r, 0)?;
    let c: String = at(r, 1)?;
    let p: String = at(r, 5)?;
    Ok(Incident {
        category: Category::from_canonical(&c).ok_or_else(|| RowError::Category { id: id.clone(), value: c.clone() })?,
        precision: Precision::parse(&p).ok_or_else(|| RowError::Precision { id: id.clone(), value: p.clone() })?,
        source_label: at(r, 2)?,
        occurred_at: at(r, 3)?,
        reported_by: at(r, 4)?,
        description: at(r, 6)?,
        import_id: at(r, 7)?,
        location: geo::Point::new(at(r, 8)?, at(r, 9)?),
        id,
    })
}

fn import_row(r: &tokio_postgres::Row) -> ImportRecord {
    ImportRecord {
        import_id: r.get("import_id"),
        kind: r.get("kind"),
        file_name: r.get("file_name"),
        sha256: r.get("sha256"),
        imported_at: r.get("imported_at"),
        accepted: r.get::<_, i64>("accepted").max(0) as u64,
        rejected: r.get::<_, i64>("rejected").max(0) as u64,
        imported_by: r.get("imported_by"),
    }
}

const INCIDENT_COLUMNS: &str = "id, category, source_label, occurred_at, reported_by, precision, description, import_id, geom";
/// What [`incident_row`] reads: the coordinates as two doubles (a point needs no geometry
/// decoder, and PostGIS gives them exactly as stored).
const INCIDENT_READ: &str = "id, category, source_label, occurred_at, reported_by, precision, description, import_id, ST_X(geom), ST_Y(geom)";

/// Counts per area × category × ISO week in the database: each area of one edition finds its
/// point-precision incidents through the incidents' GiST index (`ST_Intersects`, boundary
/// included, as the Rust join); a point in several areas keeps the smallest code (compared
/// bytewise, as Rust compares strings, whatever the database's collation) and is counted once.
/// The areas drive the loop (`OFFSET 0` keeps the planner from turning it around) so PostGIS
/// tests one polygon against many points in a row and reuses its prepared form: at 1,000,000
/// incidents and 1,287 DeSO that took 8.8 s where the point-driven plan took 26 s (EXPLAIN
/// ANALYZE on the bench's database). `IYYY-"W"IW` is the ISO week as `model::iso_week` writes it.
const COUNTS_SQL: &str = r#"
WITH hits AS (
    SELECT i.fid, min(i.category) AS category, min(i.occurred_at) AS occurred_at, min(a.deso COLLATE "C") AS deso, count(*) AS areas
    FROM areas a CROSS JOIN LATERAL (
        SELECT fid, category, occurred_at FROM incidents i WHERE ST_Intersects(a.geom, i.geom) AND i.precision = ANY($2) OFFSET 0
    ) i
    WHERE a.version = $1
    GROUP BY i.fid
)
SELECT deso, category, to_char(occurred_at, 'IYYY-"W"IW') AS week, count(*), count(*) FILTER (WHERE areas > 1)
FROM hits GROUP BY 1, 2, 3"#;

impl PgStore {
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let c = self.client().await?;
        c.query(sql, params).await.map_err(|e| self.err(pg(e)))
    }

    /// Reads a query's rows through a portal (a server-side cursor) a batch at a time, each batch
    /// converted before the next is fetched, so a million incidents never sit in memory as raw
    /// rows beside the converted ones.
    async fn read_rows<T: Send>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        convert: fn(&tokio_postgres::Row) -> Result<T, RowError>,
    ) -> Result<Vec<T>, StoreError> {
        const BATCH: i32 = 10_000;
        let mut c = self.client().await?;
        // A portal lives inside a transaction; this one only reads.
        let t = c.transaction().await.map_err(|e| self.err(pg(e)))?;
        let portal = t.bind(sql, params).await.map_err(|e| self.err(pg(e)))?;
        let mut out = Vec::new();
        loop {
            let rows = t.query_portal(&portal, BATCH).await.map_err(|e| self.err(pg(e)))?;
            for r in &rows {
                out.push(convert(r)?);
            }
            if rows.len() < BATCH as usize {
                return Ok(out);
            }
        }
    }

    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt { path: self.shown.clone(), reason }
    }

    async fn insert_record(&self, t: &impl tokio_postgres::GenericClient, r: &ImportRecord) -> Result<(), StoreError> {
        t.execute(
            "INSERT INTO imports (import_id, kind, file_name, sha256, imported_at, accepted, rejected, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&r.import_id, &r.kind, &r.file_name, &r.sha256, &r.imported_at, &(r.accepted as i64), &(r.rejected as i64), &r.imported_by],
        )
        .await
        .map_err(|e| self.err(pg(e)))?;
        Ok(())
    }

    async fn write_rows(&self, t: &tokio_postgres::Transaction<'_>, batch: &ImportBatch, import_id: &str) -> Result<(), StoreError> {
        let e = |e: tokio_postgres::Error| self.err(pg(e));
        match batch {
            ImportBatch::Places(places) => {
                let st = t.prepare("INSERT INTO places (name, kind, import_id, geom) VALUES ($1, $2, $3, ST_Multi($4::geometry))").await.map_err(e)?;
                for p in places {
                    let g = geo::Geometry::MultiPolygon(p.geometry.clone());
                    t.execute(&st, &[&p.name, &p.kind, &import_id, &ewkb(&g)]).await.map_err(e)?;
                }
            }
            ImportBatch::Areas(areas) => {
                let st = t
                    .prepare("INSERT INTO areas (deso, regso, regso_name, kommun, version, population, import_id, geom) VALUES ($1, $2, $3, $4, $5, $6, $7, ST_Multi($8::geometry))")
                    .await
                    .map_err(e)?;
                for a in areas {
                    let g = geo::Geometry::MultiPolygon(a.geometry.clone());
                    t.execute(&st, &[&a.deso, &a.regso, &a.regso_name, &a.kommun, &a.version, &a.population, &import_id, &ewkb(&g)]).await.map_err(e)?;
                }
            }
            ImportBatch::Indicators(values) => {
                let st =
                    t.prepare("INSERT INTO indicators (deso, year, indicator, value, source, import_id) VALUES ($1, $2, $3, $4, $5, $6)").await.map_err(e)?;
                for v in values {
                    t.execute(&st, &[&v.deso, &v.year, &v.indicator, &v.value, &v.source, &import_id]).await.map_err(e)?;
                }
            }
            // Written through the streaming sink by `write_import`.
            ImportBatch::Incidents(_) => {}
        }
        Ok(())
    }
}

/// Streams incidents into the connection's open transaction with `COPY … FROM STDIN BINARY`: at a
/// million rows one INSERT a row would spend its time in round trips.
async fn copy_incidents(t: &tokio_postgres::Client, rows: &[Incident]) -> Result<(), tokio_postgres::Error> {
    // The geometry type's oid belongs to the database (PostGIS is an extension): asked of the table.
    let probe = t.prepare(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents LIMIT 0")).await?;
    let types: Vec<Type> = probe.columns().iter().map(|c| c.type_().clone()).collect();
    let sink = t.copy_in(format!("COPY incidents ({INCIDENT_COLUMNS}) FROM STDIN BINARY").as_str()).await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for i in rows {
        let g = geo::Geometry::Point(i.location);
        let (cat, prec) = (i.category.as_str(), i.precision.as_str());
        let vals: [&(dyn ToSql + Sync); 9] = [&i.id, &cat, &i.source_label, &i.occurred_at, &i.reported_by, &prec, &i.description, &i.import_id, &ewkb(&g)];
        writer.as_mut().write(&vals).await?;
    }
    writer.finish().await?;
    Ok(())
}

impl Store for PgStore {
    fn areas(&self) -> Result<Vec<Area>, StoreError> {
        self.block(async {
            let rows = self.query("SELECT deso, regso, regso_name, kommun, version, population, geom FROM areas ORDER BY fid", &[]).await?;
            rows.iter().map(|r| area_row(r).map_err(StoreError::from)).collect()
        })
    }

    fn places(&self) -> Result<Vec<Place>, StoreError> {
        self.block(async {
            let rows = self.query("SELECT name, kind, geom FROM places ORDER BY fid", &[]).await?;
            rows.iter().map(|r| place_row(r).map_err(StoreError::from)).collect()
        })
    }

    fn indicators(&self) -> Result<Vec<IndicatorValue>, StoreError> {
        self.block(async {
            let rows = self.query("SELECT deso, year, indicator, value, source FROM indicators ORDER BY fid", &[]).await?;
            Ok(rows.iter().map(|r| IndicatorValue { deso: r.get(0), year: r.get(1), indicator: r.get(2), value: r.get(3), source: r.get(4) }).collect())
        })
    }

    fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.block(async { self.read_rows(&format!("SELECT {INCIDENT_READ} FROM incidents ORDER BY fid"), &[], incident_row).await })
    }

    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        self.block(async { Ok(self.query("SELECT * FROM imports ORDER BY fid", &[]).await?.iter().map(import_row).collect()) })
    }

    fn for_each_incident_id(&self, f: &mut dyn FnMut(&str)) -> Result<(), StoreError> {
        const BATCH: usize = 50_000;
        // A cursor on one connection, fetched a batch per call: `f` need not be Send (the
        // futures must be), so it runs here between fetches, and at most one batch is held.
        let c = self.block(async {
            let c = self.client().await?;
            c.batch_execute("BEGIN READ ONLY; DECLARE incident_ids NO SCROLL CURSOR FOR SELECT id FROM incidents").await.map_err(|e| self.err(pg(e)))?;
            Ok::<_, StoreError>(c)
        })?;
        let open = OpenTransaction(Some(c), false);
        let c = open.0.as_ref().expect("set just above");
        loop {
            let rows = self.block(async { c.query(format!("FETCH {BATCH} FROM incident_ids").as_str(), &[]).await.map_err(|e| self.err(pg(e))) })?;
            for r in &rows {
                f(r.get(0));
            }
            if rows.len() < BATCH {
                break;
            }
        }
        self.block(async { c.batch_execute("COMMIT").await.map_err(|e| self.err(pg(e))) })?;
        open.finish();
        Ok(())
    }

    fn incident_ids(&self) -> Result<HashSet<String>, StoreError> {
        let mut ids = HashSet::new();
        self.for_each_incident_id(&mut |id| {
            ids.insert(id.to_string());
        })?;
        Ok(ids)
    }

    fn area_keys(&self) -> Result<HashSet<(String, String)>, StoreError> {
        self.block(async { Ok(self.query("SELECT deso, version FROM areas", &[]).await?.iter().map(|r| (r.get(0), r.get(1))).collect()) })
    }

    fn write_import(&self, batch: &ImportBatch, record: &ImportRecord) -> Result<(), StoreError> {
        if let ImportBatch::Incidents(rows) = batch {
            let mut sink = self.incident_sink()?;
            sink.append(rows)?;
            return sink.commit(record);
        }
        self.block(async {
            let mut c = self.client().await?;
            // One transaction: dropped without commit (any error below), PostgreSQL rolls it back.
            let t = c.transaction().await.map_err(|e| self.err(pg(e)))?;
            self.write_rows(&t, batch, &record.import_id).await?;
            self.insert_record(&*t, record).await?;
            t.commit().await.map_err(|e| self.err(pg(e)))
        })
    }

    fn import_batch(&self, record: &ImportRecord) -> Result<ImportBatch, StoreError> {
        let id = &record.import_id;
        self.block(async {
            Ok(match super::import_table(&record.kind) {
                "areas" => {
                    let rows = self
                        .query("SELECT deso, regso, regso_name, kommun, version, population, geom FROM areas WHERE import_id = $1 ORDER BY fid", &[id])
                        .await?;
                    ImportBatch::Areas(rows.iter().map(|r| area_row(r).map_err(StoreError::from)).collect::<Result<_, _>>()?)
                }
                "places" => {
                    let rows = self.query("SELECT name, kind, geom FROM places WHERE import_id = $1 ORDER BY fid", &[id]).await?;
                    ImportBatch::Places(rows.iter().map(|r| place_row(r).map_err(StoreError::from)).collect::<Result<_, _>>()?)
                }
                "incidents" => ImportBatch::Incidents(
                    self.read_rows(&format!("SELECT {INCIDENT_READ} FROM incidents WHERE import_id = $1 ORDER BY fid"), &[id], incident_row).await?,
                ),
                _ => {
                    let rows = self.query("SELECT deso, year, indicator, value, source FROM indicators WHERE import_id = $1 ORDER BY fid", &[id]).await?;
                    ImportBatch::Indicators(
                        rows.iter()
                            .map(|r| IndicatorValue { deso: r.get(0), year: r.get(1), indicator: r.get(2), value: r.get(3), source: r.get(4) })
                            .collect(),
                    )
                }
            })
        })
    }

    fn describe(&self) -> String {
        format!("PostGIS {}", self.shown)
    }

    fn delete_import(&self, import_id: &str) -> Result<Option<DeletedImport>, StoreError> {
        self.block(async {
            let mut c = self.client().await?;
            let t = c.transaction().await.map_err(|e| self.err(pg(e)))?;
            let Some(row) = t.query_opt("SELECT * FROM imports WHERE import_id = $1 FOR UPDATE", &[&import_id]).await.map_err(|e| self.err(pg(e)))? else {
                return Ok(None);
            };
            let record = import_row(&row);
            if record.kind == "gallring" {
                return Err(self.corrupt(format!("{import_id} is a gallring: removed points cannot be brought back")));
            }
            let table = super::import_table(&record.kind);
            let removed = t.execute(format!("DELETE FROM {table} WHERE import_id = $1").as_str(), &[&import_id]).await.map_err(|e| self.err(pg(e)))?;
            // Thinned points live on as weekly counts: they go with the rest of the import.
            let thinned = if table == "incidents" { self.pg_forget_thinned(&t, import_id).await? } else { 0 };
            if removed + thinned != record.accepted {
                // Rows of this import were changed by hand: removing some of them would not undo it.
                return Err(self.corrupt(format!("{import_id} added {} {table} rows but {removed} carry its id; nothing was removed", record.accepted)));
            }
            t.execute("DELETE FROM imports WHERE import_id = $1", &[&import_id]).await.map_err(|e| self.err(pg(e)))?;
            t.commit().await.map_err(|e| self.err(pg(e)))?;
            Ok(Some(DeletedImport { record, removed }))
        })
    }

    fn weekly_counts(&self) -> Result<Vec<super::WeeklyCount>, StoreError> {
        self.pg_weekly_counts()
    }

    fn gallring_state(&self) -> Result<super::GallringState, StoreError> {
        self.pg_gallring_state()
    }
    fn gallring_entry(&self, gallring_id: &str) -> Result<Option<super::GallringEntry>, StoreError> {
        self.pg_gallring_entry(gallring_id)
    }
    fn point_ages(&self) -> Result<Option<super::PointAges>, StoreError> {
        self.pg_point_ages().map(Some)
    }
    fn restore_gallring(&self, entry: &super::GallringEntry, record: &ImportRecord) -> Result<(), StoreError> {
        self.pg_restore_gallring(entry, record)
    }

    fn gallra(&self, plan: &super::GallringPlan) -> Result<super::GallringReport, StoreError> {
        self.pg_gallra(plan)
    }

    fn data_generation(&self) -> Result<u64, StoreError> {
        self.block(async {
            let rows = self.query("SELECT generation FROM store_generation", &[]).await?;
            Ok(rows.first().map(|r| r.get::<_, i64>(0).max(0) as u64).unwrap_or(0))
        })
    }

    /// A dedicated connection LISTENs on the channel the schema's trigger notifies, so a running
    /// service reloads at once instead of at its next poll.
    fn watch(&self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        let config = self.config.clone();
        self.block(async move {
            let (client, mut conn) = config.connect(NoTls).await.map_err(|e| self.err(e))?;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            // The connection must be polled for notifications to arrive; it is driven here.
            let pump = tokio::spawn(async move {
                while let Some(Ok(m)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                    if let tokio_postgres::AsyncMessage::Notification(n) = m {
                        if tx.send(n.payload().to_string()).is_err() {
                            break;
                        }
                    }
                }
            });
            client.batch_execute(&format!("LISTEN {CHANGES_CHANNEL}")).await.map_err(|e| self.err(e))?;
            let got = tokio::time::timeout(timeout, rx.recv()).await.ok().flatten().is_some();
            pump.abort();
            Ok(got)
        })
    }

    fn announces_changes(&self) -> bool {
        true
    }

    fn incident_counts(&self, version: &str) -> Result<Option<StoredCounts>, StoreError> {
        let precise: Vec<&str> = [Precision::Exact, Precision::Address, Precision::Street].iter().map(|p| p.as_str()).collect();
        debug_assert!(precise.iter().all(|p| Precision::parse(p).is_some_and(|p| p.is_point_statistic())));
        self.block(async {
            let rows = self.query(COUNTS_SQL, &[&version, &precise]).await?;
            let totals = self.query("SELECT count(*), count(*) FILTER (WHERE precision = ANY($1)) FROM incidents", &[&precise]).await?;
            let mut out = StoredCounts::default();
            if let Some(t) = totals.first() {
                (out.total, out.precise) = (t.get::<_, i64>(0) as usize, t.get::<_, i64>(1) as usize);
            }
            for r in &rows {
                let c: String = r.get(1);
                let category = Category::from_canonical(&c).ok_or_else(|| RowError::Category { id: "(counted)".into(), value: c.clone() })?;
                out.counts.push((r.get(0), category, r.get(2), r.get::<_, i64>(3) as u64));
                out.ambiguous += r.get::<_, i64>(4) as usize;
            }
            Ok(Some(out))
        })
    }

    fn keeps_audit_log(&self) -> bool {
        true
    }

    fn append_audit(&self, entry: &serde_json::Value) -> Result<(), StoreError> {
        let text = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let number = |k: &str| entry.get(k).and_then(|v| v.as_i64());
        let (role, request) = (text("role").unwrap_or_default(), text("request").unwrap_or_default());
        let (features, status) = (number("features"), number("status").map(|s| s as i32));
        let json = entry.to_string();
        self.block(async {
            // The entry's own time, so the table and the file agree; the JSON goes as text and is
            // cast, which needs no JSON feature of the driver.
            self.query(
                "INSERT INTO audit_log (logged_at, role, token, sub, preferred_username, collection, request, features, method, status, entry) \
                 VALUES (COALESCE($1::text::timestamptz, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text::jsonb)",
                &[
                    &text("time"),
                    &role,
                    &text("token"),
                    &text("sub"),
                    &text("preferred_username"),
                    &text("collection"),
                    &request,
                    &features,
                    &text("write"),
                    &status,
                    &json,
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn audit_entries(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = self.block(async { self.query("SELECT entry::text FROM audit_log ORDER BY fid", &[]).await })?;
        rows.iter().map(|r| serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| self.corrupt(format!("audit_log: {e}")))).collect()
    }

    fn incident_sink(&self) -> Result<Box<dyn IncidentSink + '_>, StoreError> {
        let conn = self.block(async {
            let c = self.client().await?;
            c.batch_execute("BEGIN").await.map_err(|e| self.err(pg(e)))?;
            Ok::<_, StoreError>(c)
        })?;
        Ok(Box::new(PgSink { store: self, conn: Some(conn), done: false }))
    }
}

/// A streaming incident write: one connection holding an open transaction, each batch copied in
/// as it comes (memory stays bounded), the import record and COMMIT at the end. Dropped without
/// commit, the connection is closed instead of returned to the pool, and PostgreSQL rolls the
/// transaction back.
struct PgSink<'a> {
    store: &'a PgStore,
    conn: Option<Object>,
    done: bool,
}

impl IncidentSink for PgSink<'_> {
    fn append(&mut self, rows: &[Incident]) -> Result<(), StoreError> {
        let (store, Some(c)) = (self.store, self.conn.as_ref()) else { return Ok(()) };
        store.block(async { copy_incidents(&***c, rows).await.map_err(|e| store.err(pg(e))) })
    }
    fn commit(mut self: Box<Self>, record: &ImportRecord) -> Result<(), StoreError> {
        let (store, Some(c)) = (self.store, self.conn.as_ref()) else { return Ok(()) };
        store.block(async {
            store.insert_record(&***c, record).await?;
            c.batch_execute("COMMIT").await.map_err(|e| store.err(pg(e)))
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for PgSink<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            if !self.done {
                drop(Object::take(c));
            }
        }
    }
}

/// A pooled connection inside a transaction this process opened by hand. Dropped before
/// [`OpenTransaction::finish`] (an error on the way), the connection is closed rather than handed
/// back to the pool mid-transaction; PostgreSQL then ends the transaction.
struct OpenTransaction(Option<Object>, bool);

impl OpenTransaction {
    fn finish(mut self) {
        self.1 = true;
    }
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            if !self.1 {
                drop(Object::take(c));
            }
        }
    }
}
