//! Live data: the service notices an import or an undo (over HTTP or from the command line in
//! another process) by the store's data generation, rebuilds its in-memory picture off the
//! request path and swaps it in atomically. Requests already running finish on the picture they
//! started with; new ones see the new one. The first picture loads the same way, so the port
//! answers while a large store is read.

use super::AppState;
use crate::store::Store;
use arc_swap::{ArcSwap, ArcSwapOption};
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
    router: ArcSwap<Router>,
    state: ArcSwapOption<AppState>,
}

impl Live {
    /// The picture in service; None while the first one is still loading.
    pub fn state(&self) -> Option<AppState> {
        self.state.load_full().map(|s| (*s).clone())
    }

    fn install(&self, state: AppState) {
        self.router.store(Arc::new(super::app(state.clone())));
        self.state.store(Some(Arc::new(state)));
    }

    /// Builds the picture of the store's current generation when it differs from the one served.
    /// Returns whether it swapped.
    pub fn refresh(&self, store: &dyn Store) -> Result<bool, super::StartError> {
        let Some(old) = self.state() else { return Ok(false) };
        let generation = store.data_generation()?;
        if generation == old.generation {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let next = old.reload(store)?;
        // Every cached result belongs to the old generation; their keys can no longer match.
        next.analysis.cache.clear();
        tracing::info!(generation = next.generation, ms = started.elapsed().as_millis() as u64, "data changed; new picture in service");
        self.install(next);
        Ok(true)
    }
}

/// While the first picture loads: `/health` answers 200 with `"status": "loading"`, every
/// other path 503 with `Retry-After`, so a large store does not keep the port closed.
fn loading_router() -> Router {
    use axum::routing::get;
    let router = Router::new()
        .route("/health", get(|| async { axum::Json(serde_json::json!({"status": "loading", "version": env!("CARGO_PKG_VERSION")})) }))
        .fallback(|| async { super::error::ApiError::Busy { message: "the service is loading its data; try again in a moment".into(), retry_after_s: 2 } });
    super::security::apply(router, &Default::default())
}

/// Serves at once and loads the first picture with `build` on a thread of its own, then keeps
/// it current: the thread polls the store's data generation every `poll` (and wakes at once when
/// this process wrote) and swaps in a rebuilt picture. A first load that fails ends the process,
/// as a failed start would.
pub fn start(store: Arc<dyn Store>, poll: Duration, build: impl FnOnce() -> Result<AppState, super::StartError> + Send + 'static) -> (Router, Arc<Live>) {
    let live = Arc::new(Live { router: ArcSwap::from_pointee(loading_router()), state: ArcSwapOption::empty() });
    let l2 = live.clone();
    std::thread::Builder::new()
        .name("lagesbild-reload".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let mut state = match build() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            };
            let signal = state.reload_signal.clone().unwrap_or_default();
            state.reload_signal = Some(signal.clone());
            tracing::info!(generation = state.generation, ms = started.elapsed().as_millis() as u64, "data loaded; serving");
            l2.install(state);
            loop {
                signal.wait(poll);
                if let Err(e) = l2.refresh(store.as_ref()) {
                    // The store may be locked by a writer in another process; the next poll retries.
                    tracing::warn!("cannot reload the store: {e}");
                }
            }
        })
        .expect("spawn the reload thread");
    let l3 = live.clone();
    let router = Router::new().fallback_service(tower::service_fn(move |req: Request| {
        let current = l3.router.load_full();
        async move { Ok::<_, Infallible>((*current).clone().oneshot(req).await.unwrap_or_else(|e| match e {})) }
    }));
    (router, live)
}
