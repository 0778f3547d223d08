//! A SaaS whose customers bring their own domains: the policy declares `origins tenants
//! provided tenant-bound`, and a background task refreshes the set from the tenants' table
//! every few seconds with `Policy::replace_provided`. A bad row or a failed read keeps the set
//! the service already has. Every supplied origin can send credentialed requests, so the
//! handler checks that the session belongs to the tenant whose origin made the request: the
//! layer hands it the matched entry (`guestlist::MatchedOrigin`) and its key.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Extension;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;

/// The policy, checked when the service starts (`guestlist check tenants.policy` in CI).
pub const POLICY: &str = include_str!("../tenants.policy");

/// One row of the tenants' domains table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDomain {
    /// The tenant's id: the key of its entries.
    pub tenant: String,
    /// The origin the tenant's site runs on, as browsers send it (`https://app.acme.example`).
    pub origin: String,
}

/// Where the tenants' domains live: a database in a real service.
pub trait TenantRepository: Send + Sync + 'static {
    /// Every tenant's domains.
    fn domains(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<TenantDomain>, String>> + Send;
}

/// A table in memory, standing in for the database: rows can be changed while the service
/// runs, and reads can be made to fail.
#[derive(Debug, Default)]
pub struct InMemoryTenants {
    rows: Mutex<Vec<TenantDomain>>,
    down: Mutex<bool>,
}

impl InMemoryTenants {
    /// Adds a row.
    pub fn insert(&self, tenant: &str, origin: &str) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.push(TenantDomain {
                tenant: tenant.to_string(),
                origin: origin.to_string(),
            });
        }
    }

    /// Removes every row of `origin`.
    pub fn remove(&self, origin: &str) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.retain(|r| r.origin != origin);
        }
    }

    /// Makes reads fail (`true`) or succeed again.
    pub fn set_down(&self, down: bool) {
        if let Ok(mut d) = self.down.lock() {
            *d = down;
        }
    }
}

impl TenantRepository for InMemoryTenants {
    async fn domains(&self) -> Result<Vec<TenantDomain>, String> {
        if self.down.lock().map(|d| *d).unwrap_or(true) {
            return Err("the database is unreachable".into());
        }
        self.rows
            .lock()
            .map(|rows| rows.clone())
            .map_err(|_| "the table's lock is poisoned".to_string())
    }
}

/// The policy's tables, with the provided set `tenants` empty until the first refresh.
pub fn policy() -> Result<Arc<guestlist::Policy>, String> {
    let c = guestlist_compiler::Compilation::from_str("tenants.policy", POLICY);
    if c.has_errors() {
        return Err(c.render());
    }
    let lowered = c.lower("default").map_err(|e| e.to_string())?;
    Ok(Arc::new(lowered.policy))
}

/// Reads the table once and replaces the set `tenants` with its rows (each origin keyed by its
/// tenant). On a failed read or a refused row the set stays as it was; either way the outcome
/// is logged to stderr.
pub async fn refresh_once(
    policy: &guestlist::Policy,
    repo: &impl TenantRepository,
) -> Result<guestlist::Report, String> {
    let rows = repo.domains().await.map_err(|e| {
        eprintln!("tenants: read failed, keeping the current set: {e}");
        e
    })?;
    let entries = rows.into_iter().map(|r| guestlist::SuppliedEntry {
        origin: r.origin,
        key: Some(r.tenant),
    });
    match policy.replace_provided("tenants", entries) {
        Some(Ok(report)) => {
            if !report.added.is_empty() || !report.removed.is_empty() {
                eprintln!(
                    "tenants: {} origins ({} added: {:?}; {} removed: {:?})",
                    report.entries,
                    report.added.len(),
                    report.added,
                    report.removed.len(),
                    report.removed
                );
            }
            Ok(report)
        }
        Some(Err(e)) => {
            for x in &e.entries {
                eprintln!(
                    "tenants: row {:?} refused, keeping the current set: {}",
                    x.origin, x.why
                );
            }
            Err(e.to_string())
        }
        None => Err("the policy has no provided set `tenants`".into()),
    }
}

/// Refreshes the set now and then every `every`, in a background task, until the runtime
/// stops or the handle is aborted.
pub fn spawn_refresher<R: TenantRepository>(
    policy: Arc<guestlist::Policy>,
    repo: Arc<R>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Logged inside; the old set stays on error.
            let _ = refresh_once(&policy, repo.as_ref()).await;
        }
    })
}

/// The session's tenant: a `session=TENANT` cookie stands in for a real session store.
fn session_tenant(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("session=").map(str::to_string))
}

/// `GET /api/projects`: the session's tenant's projects. A cross-origin request that the
/// tenant set allowed carries `MatchedOrigin`: its key must be the session's tenant, or a page
/// of tenant A could read tenant B's data with the visitor's cookies.
async fn projects(
    matched: Option<Extension<guestlist::MatchedOrigin>>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let Some(tenant) = session_tenant(&headers) else {
        return (StatusCode::UNAUTHORIZED, "no session\n".into());
    };
    if let Some(Extension(m)) = matched {
        if m.key() != Some(tenant.as_str()) {
            return (
                StatusCode::FORBIDDEN,
                format!(
                    "{} belongs to another tenant than this session's\n",
                    m.entry()
                ),
            );
        }
    }
    (StatusCode::OK, format!("{{\"tenant\":\"{tenant}\"}}\n"))
}

/// The app, with the policy applied by the guestlist layer.
pub fn app(policy: Arc<guestlist::Policy>) -> Router {
    Router::new()
        .route("/api/projects", get(projects))
        .layer(guestlist::Layer::shared(policy))
}

/// Serves `app(policy)` on `127.0.0.1:port` (0: a free port) in a background task.
pub async fn serve(
    policy: Arc<guestlist::Policy>,
    port: u16,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let router = app(policy);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}
