//! Bounds on on-demand analysis: a result cache limited in bytes with least-recently-used
//! eviction, a fixed number of analyses computing at once, a bounded queue in front of them
//! (503 with `Retry-After` beyond it), and work estimates checked before an analysis starts.
//!
//! Shared by every data generation of a running service: the limits hold across reloads.

use super::error::ApiError;
use crate::catalog::Collection;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Seconds a client refused for a full queue is asked to wait.
pub const RETRY_AFTER_S: u64 = 5;

struct Entry {
    value: Arc<Collection>,
    bytes: usize,
}

/// Analysis results by key (the key includes the data generation), bounded in bytes.
pub struct ByteLru {
    inner: Mutex<(lru::LruCache<String, Entry>, usize)>,
    budget: usize,
}

impl ByteLru {
    pub fn new(budget_bytes: usize) -> ByteLru {
        ByteLru { inner: Mutex::new((lru::LruCache::unbounded(), 0)), budget: budget_bytes }
    }

    pub fn get(&self, key: &str) -> Option<Arc<Collection>> {
        let mut g = self.inner.lock().ok()?;
        g.0.get(key).map(|e| e.value.clone())
    }

    /// Stores a result, evicting the least recently used ones until the total fits. A result
    /// larger than the whole budget is not kept (it is still returned to its caller).
    pub fn put(&self, key: String, value: Arc<Collection>) {
        let bytes = estimate_bytes(&value);
        if bytes > self.budget {
            return;
        }
        let Ok(mut g) = self.inner.lock() else { return };
        let (map, total) = &mut *g;
        if let Some(old) = map.put(key, Entry { value, bytes }) {
            *total -= old.bytes;
        }
        *total += bytes;
        while *total > self.budget {
            match map.pop_lru() {
                Some((_, e)) => *total -= e.bytes,
                None => break,
            }
        }
    }

    /// Drops everything (a new data generation makes every entry unreachable).
    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.0.clear();
            g.1 = 0;
        }
    }

    /// Bytes held now, by the estimate.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|g| g.1).unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.0.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Heap bytes of a result, estimated from what it holds: two copies of each geometry (16 bytes a
/// coordinate), the serialised WGS84 geometry, and the properties as JSON text plus map overhead.
pub fn estimate_bytes(c: &Collection) -> usize {
    use geo::CoordsIter;
    let per_feature: usize = c
        .features
        .iter()
        .map(|f| {
            let coords = f.g3006.coords_count() + f.gwgs.coords_count();
            let props: usize = f.props.iter().map(|(k, v)| k.len() + v.to_string().len() + 64).sum();
            coords * 16 + f.gwgs_json.len() + props + f.id.len() + 256
        })
        .sum();
    per_feature + c.parameters.to_string().len() + 512
}

/// At most `workers` analyses compute at once; at most `queue` more wait for a turn.
pub struct Limiter {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    pub workers: usize,
    pub queue: usize,
}

impl Limiter {
    pub fn new(workers: usize, queue: usize) -> Limiter {
        let workers = workers.max(1);
        Limiter { permits: Arc::new(Semaphore::new(workers)), waiting: AtomicUsize::new(0), workers, queue }
    }

    /// Waits for a turn, or refuses at once when the queue is full.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        if before >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Busy {
                message: format!("{} analyses are running and {} are waiting; try again in a few seconds", self.workers, self.queue),
                retry_after_s: RETRY_AFTER_S,
            });
        }
        let r = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        r.map_err(|e| ApiError::Internal(e.into()))
    }
}

/// The cache and the limiter, built once per running service.
pub struct AnalysisGate {
    pub cache: ByteLru,
    pub limiter: Limiter,
}

impl AnalysisGate {
    pub fn new(cache_mb: u64, workers: usize, queue: usize) -> AnalysisGate {
        AnalysisGate { cache: ByteLru::new((cache_mb as usize).saturating_mul(1024 * 1024)), limiter: Limiter::new(workers, queue) }
    }
}

impl Default for AnalysisGate {
    fn default() -> Self {
        AnalysisGate::new(256, default_workers(), 4 * default_workers())
    }
}

pub fn default_workers() -> usize {
    std::thread::available_parallelism().map(NonZeroUsize::get).unwrap_or(2)
}

/// Largest work an analysis may do in the service (declared with the analyses, in
/// `analysis::limits`).
pub mod limits {
    use crate::analysis::Limits;
    pub const MAX_CELLS: f64 = Limits::SERVICE.max_cells;
    pub const MAX_PAIRS: f64 = Limits::SERVICE.max_pairs;
    pub const MAX_CUBE: f64 = Limits::SERVICE.max_cube;
    pub const MAX_KERNEL_EVALS: f64 = Limits::SERVICE.max_kernel_evals;
    pub const MAX_RASTER_CELLS: f64 = Limits::SERVICE.max_raster_cells;
}

pub use crate::analysis::limits::{bbox, grid_cells};

/// The smallest grid cell within the service's cell limit.
pub fn smallest_cell(b: [f64; 4]) -> f64 {
    crate::analysis::limits::smallest_cell(b, &crate::analysis::Limits::SERVICE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{feat_from, Access};
    use serde_json::json;

    fn collection(n: usize) -> Arc<Collection> {
        let features = (0..n)
            .map(|k| {
                let g: geo::Geometry<f64> = geo::Point::new(k as f64, 0.0).into();
                feat_from(format!("f{k}"), serde_json::Map::new(), g.clone(), g, [0.0; 4])
            })
            .collect();
        Arc::new(Collection {
            id: "t",
            title: "t",
            description: String::new(),
            access: Access::Open,
            count_fields: vec![],
            features,
            temporal: false,
            parameters: json!({}),
        })
    }

    #[test]
    fn the_cache_evicts_the_least_recently_used_result_when_over_its_byte_budget() {
        let one = estimate_bytes(&collection(100));
        // Room for two results of this size, not three.
        let cache = ByteLru::new(2 * one + one / 2);
        cache.put("a".into(), collection(100));
        cache.put("b".into(), collection(100));
        assert!(cache.get("a").is_some()); // a is now more recent than b
        cache.put("c".into(), collection(100));
        assert!(cache.get("b").is_none(), "b was least recently used");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert!(cache.bytes() <= 2 * one + one / 2);
    }

    #[test]
    fn a_result_larger_than_the_whole_budget_is_not_kept() {
        let cache = ByteLru::new(100);
        cache.put("big".into(), collection(10));
        assert!(cache.is_empty());
    }

    #[test]
    fn the_smallest_cell_keeps_a_county_sized_grid_within_the_cell_limit() {
        // Stockholm county's extent in EPSG:3006 is about 100 × 130 km.
        let b = [620_000.0, 6_530_000.0, 720_000.0, 6_660_000.0];
        let c = smallest_cell(b);
        assert!(grid_cells(b, c) <= limits::MAX_CELLS);
        assert!(grid_cells(b, c - 50.0) > limits::MAX_CELLS || c <= 10.0, "cell {c} is not the smallest");
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_with_retry_after() {
        let l = Arc::new(Limiter::new(1, 1));
        let held = l.acquire().await.unwrap();
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.acquire().await.map(|_| ()) });
        // Let the waiter take its place in the queue.
        while l.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        match l.acquire().await {
            Err(ApiError::Busy { retry_after_s, .. }) => assert_eq!(retry_after_s, RETRY_AFTER_S),
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        drop(held);
        assert!(waiter.await.unwrap().is_ok(), "the queued request gets its turn");
    }
}
