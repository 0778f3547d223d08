//! One entry point to every edge emitter (nginx, HAProxy, Caddy, Gateway API), by [`Engine`]: what
//! `guestlist emit`, `guestlist build` and [`Build`](crate::Build) call, so each says the same
//! thing about a policy.

use std::path::{Path, PathBuf};

use super::{caddy, gateway_api, haproxy, loss_errors, nginx, Engine, File, Loss, Unsupported};
use crate::diag::Diagnostic;
use crate::{Compilation, Lowered};

/// What an edge's output needs besides the policy.
#[derive(Debug, Clone)]
pub struct EdgeOptions {
    /// The engine.
    pub engine: Engine,
    /// The absolute directory the output's include lines and file names point to.
    pub include_root: String,
    /// nginx, Caddy: the file included where the policy lets a request through.
    pub upstream_include: Option<String>,
    /// The exact command or API call that generated the files.
    pub generated_by: String,
    /// What the user accepts losing (`--accept-loss`).
    pub accepted: Vec<Loss>,
    /// Gateway API: where the routes attach and what they route to.
    pub gateway: Option<GatewayRoute>,
}

/// Where Gateway API routes attach and what they route to (`--parent-ref`, `--backend`,
/// `--namespace`, `--envoy-gateway`).
#[derive(Debug, Clone)]
pub struct GatewayRoute {
    /// The Gateway (and listener) the routes attach to.
    pub parent_ref: gateway_api::ParentRef,
    /// The Service the routes send requests to.
    pub backend: gateway_api::Backend,
    /// The routes' namespace (none: not written).
    pub namespace: Option<String>,
    /// The Envoy Gateway add-on.
    pub envoy_gateway: bool,
}

/// What `engine` cannot carry of the policy: its own codes, then GL1201/GL1202 unless
/// accepted. Nothing is written while there is any.
pub fn errors(
    c: &Compilation,
    lowered: &Lowered,
    engine: Engine,
    accepted: &[Loss],
) -> Vec<Diagnostic> {
    let mut errors = match engine {
        Engine::Nginx => nginx::errors(c, lowered, accepted),
        Engine::Haproxy => haproxy::errors(c, lowered),
        Engine::Caddy => caddy::errors(c, lowered),
        // The fidelity report holds the losses too.
        Engine::GatewayApi => {
            return gateway_api::fidelity_report(c, lowered, accepted)
                .into_iter()
                .filter(Diagnostic::is_error)
                .collect()
        }
    };
    errors.extend(loss_errors(c, lowered, engine, accepted));
    errors
}

/// The warnings of exporting the policy to `engine` (a set supplied at run time with no file).
pub fn warnings(c: &Compilation, lowered: &Lowered, engine: Engine) -> Vec<Diagnostic> {
    match engine {
        Engine::Nginx => nginx::warnings(c, lowered),
        Engine::Haproxy => haproxy::warnings(c, lowered),
        Engine::Caddy => caddy::warnings(c, lowered),
        Engine::GatewayApi => gateway_api::fidelity_report(c, lowered, &[])
            .into_iter()
            .filter(|d| !d.is_error())
            .collect(),
    }
}

/// The files of one edge.
pub fn emit(c: &Compilation, lowered: &Lowered, o: &EdgeOptions) -> Result<Vec<File>, Unsupported> {
    let (root, generated_by, accepted) = (
        o.include_root.clone(),
        o.generated_by.clone(),
        o.accepted.clone(),
    );
    match o.engine {
        Engine::Nginx => nginx::emit(
            c,
            lowered,
            &nginx::Options {
                include_root: root,
                upstream_include: o.upstream_include.clone(),
                generated_by,
                accepted,
            },
        ),
        Engine::Haproxy => haproxy::emit(
            c,
            lowered,
            &haproxy::Options {
                include_root: root,
                generated_by,
                accepted,
            },
        ),
        Engine::Caddy => caddy::emit(
            c,
            lowered,
            &caddy::Options {
                include_root: root,
                upstream_include: o.upstream_include.clone(),
                generated_by,
                accepted,
            },
        ),
        Engine::GatewayApi => {
            let Some(g) = &o.gateway else {
                return Err(Unsupported(
                    "Gateway API routes need a parent (--parent-ref) and a backend (--backend)"
                        .to_string(),
                ));
            };
            gateway_api::emit(
                c,
                lowered,
                &gateway_api::Options {
                    parent_ref: g.parent_ref.clone(),
                    backend: g.backend.clone(),
                    namespace: g.namespace.clone(),
                    envoy_gateway: g.envoy_gateway,
                    generated_by,
                    accepted,
                },
            )
        }
    }
}

/// Writes one edge's files under `dir` (atomically, only when changed; stale generated files
/// of its subdirectories removed).
pub fn write(engine: Engine, dir: &Path, files: &[File]) -> std::io::Result<Vec<PathBuf>> {
    match engine {
        Engine::Nginx => nginx::write(dir, files),
        Engine::Haproxy => haproxy::write(dir, files),
        Engine::Caddy => caddy::write(dir, files),
        Engine::GatewayApi => gateway_api::write(dir, files),
    }
}

/// The subdirectory of `guestlist build`'s output an edge's files go to.
pub fn dir_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Nginx => "nginx",
        Engine::Haproxy => "haproxy",
        Engine::Caddy => "caddy",
        Engine::GatewayApi => "gateway-api",
    }
}
