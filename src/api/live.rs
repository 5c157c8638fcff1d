//! Live data: the service notices an import or an undo (over HTTP or from the command line in
//! another process) by the store's data generation, rebuilds its in-memory picture off the
//! request path and swaps it in atomically. Requests already running finish on the picture they
//! started with; new ones see the new one.

use super::AppState;
use crate::store::Store;
use arc_swap::ArcSwap;
use axum::extract::Request;
use axum::Router;
use std::convert::Infallible;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// Wakes the reloader at once (after a write this process made) instead of at the next poll.
#[derive(Default)]
pub struct ReloadSignal {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl ReloadSignal {
    pub fn request(&self) {
        if let Ok(mut p) = self.pending.lock() {
            *p = true;
            self.cv.notify_all();
        }
    }

    /// Waits for a request or the poll interval, whichever comes first.
    fn wait(&self, poll: Duration) {
        if let Ok(p) = self.pending.lock() {
            if let Ok((mut p, _)) = self.cv.wait_timeout_while(p, poll, |p| !*p) {
                *p = false;
            }
        }
    }
}

/// The current router, swapped whole on each new data generation.
pub struct Live {
    current: ArcSwap<(AppState, Router)>,
}

impl Live {
    pub fn state(&self) -> AppState {
        self.current.load().0.clone()
    }

    /// Builds the picture of the store's current generation when it differs from the one served.
    /// Returns whether it swapped.
    pub fn refresh(&self, store: &dyn Store) -> Result<bool, String> {
        let old = self.state();
        let generation = store.data_generation().map_err(|e| e.to_string())?;
        if generation == old.generation {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let next = old.reload(store).map_err(|e| e.to_string())?;
        // Every cached result belongs to the old generation; their keys can no longer match.
        next.analysis.cache.clear();
        let router = super::app(next.clone());
        tracing::info!(generation = next.generation, ms = started.elapsed().as_millis() as u64, "data changed; new picture in service");
        self.current.store(Arc::new((next, router)));
        Ok(true)
    }
}

/// Serves `state` and keeps it current: a thread polls the store's data generation every
/// `poll` (and at once when this process wrote) and swaps in a rebuilt picture.
pub fn start(store: Arc<dyn Store>, mut state: AppState, poll: Duration) -> (Router, Arc<Live>) {
    let signal = state.reload_signal.clone().unwrap_or_default();
    state.reload_signal = Some(signal.clone());
    let live = Arc::new(Live { current: ArcSwap::from_pointee((state.clone(), super::app(state))) });
    let l2 = live.clone();
    std::thread::Builder::new()
        .name("lagesbild-reload".into())
        .spawn(move || loop {
            signal.wait(poll);
            if let Err(e) = l2.refresh(store.as_ref()) {
                // The store may be locked by a writer in another process; the next poll retries.
                tracing::warn!("cannot reload the store: {e}");
            }
        })
        .expect("spawn the reload thread");
    let l3 = live.clone();
    let router = Router::new().fallback_service(tower::service_fn(move |req: Request| {
        let current = l3.current.load_full();
        async move { Ok::<_, Infallible>(current.1.clone().oneshot(req).await.unwrap_or_else(|e| match e {})) }
    }));
    (router, live)
}
