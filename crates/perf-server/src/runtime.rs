//! Every background loop, spawned and stopped together by [`run`]: snapshots (every
//! `server.snapshotInterval`, or sooner when the journal grew past `maxLogBytes`), the
//! evaluation cycle (every `server.evaluationInterval`), the deployment cycle (every
//! `server.deploymentInterval`), webhook delivery, the overview publisher of the stream
//! (once a second while someone listens; it only reads the last decisions), and in a
//! cluster the renewal of the leader lease (released at shutdown) and, with
//! `cluster.ownership: leases`, the rounds of partition ownership (partitions handed over
//! at shutdown).

use crate::http::{self, listen};
use crate::AppState;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Serves `state` on `listener` until `shutdown` completes; then refuses new writes, lets
/// in-flight requests finish, stops the loops and writes a final snapshot.
pub async fn run(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if state.durable.partitioned() {
        let url = advertised_url(&state.durable.config.cluster.advertise_url, &listener)?;
        let d = state.durable.clone();
        tokio::task::spawn_blocking(move || d.advertise(&url)).await??;
    }
    let loops = [
        tokio::spawn(snapshot_every(state.clone())),
        tokio::spawn(publish_overview_every_second(state.clone())),
        tokio::spawn(evaluate_every(state.clone())),
        tokio::spawn(crate::effects::webhooks::deliver_forever(
            state.durable.clone(),
        )),
        tokio::spawn(deployment_cycle_every(state.clone())),
        tokio::spawn(backup_every(state.clone())),
        tokio::spawn(hold_leadership(state.clone())),
        tokio::spawn(hold_partitions(state.clone())),
    ];
    let flag = state.clone();
    let l = &state.durable.config.server.limits;
    let limits = listen::ConnectionLimits {
        header_timeout: Duration::from_millis(l.header_timeout as u64),
        max_connections: listen::effective_max_connections(l.max_connections),
        shutdown_timeout: Duration::from_millis(l.shutdown_timeout as u64),
    };
    if limits.max_connections < l.max_connections {
        tracing::warn!(
            configured = l.max_connections,
            used = limits.max_connections,
            "maxConnections lowered to stay under the file-descriptor limit (ulimit -n)"
        );
    }
    listen::serve(
        listener,
        http::app(state.clone()),
        limits,
        state.clone(),
        async move {
            shutdown.await;
            flag.durable.begin_shutdown();
            tracing::info!("shutting down: no new writes, finishing requests in flight");
        },
    )
    .await;
    for task in loops {
        task.abort();
    }
    let d = state.durable.clone();
    tokio::task::spawn_blocking(move || d.release_leadership()).await?;
    let d = state.durable.clone();
    tokio::task::spawn_blocking(move || d.release_partitions()).await?;
    let d = state.durable.clone();
    tokio::task::spawn_blocking(move || d.snapshot()).await??;
    tracing::info!("final snapshot written");
    Ok(())
}

async fn snapshot_every(state: Arc<AppState>) {
    let every =
        Duration::from_millis(state.durable.config.server.snapshot_interval.max(1000) as u64);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = state.durable.snapshot_due.notified() => {}
        }
        let d = state.durable.clone();
        match tokio::task::spawn_blocking(move || d.snapshot()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "snapshot failed; the log keeps everything until the next one")
            }
            Err(e) => tracing::error!(error = %e, "snapshot task failed"),
        }
    }
}

/// Asks for the evaluation cycle four times per `server.evaluationInterval`; the control
/// layer runs it when the last one is an interval old (so a cycle a read already ran is not
/// repeated, and cycles stay one interval apart whoever triggers them).
async fn evaluate_every(state: Arc<AppState>) {
    let interval = state.durable.config.server.evaluation_interval.max(100) as u64;
    let mut tick = tokio::time::interval(Duration::from_millis((interval / 4).max(25)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = state.clone();
        let ran =
            tokio::task::spawn_blocking(move || s.control.run_if_due(&s.durable, &s.effects, true))
                .await;
        if let Err(e) = ran {
            tracing::error!(error = %e, "evaluation task failed");
        }
    }
}

/// Runs the deployment cycle every `server.deploymentInterval`.
async fn deployment_cycle_every(state: Arc<AppState>) {
    let every =
        Duration::from_millis(state.durable.config.server.deployment_interval.max(1000) as u64);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        // When every replica applies every partition the leader steps rollouts; with
        // partitions owned by leases each replica steps those of its own services.
        if !state.durable.writes_notifications() {
            continue;
        }
        let s = state.clone();
        let ran = tokio::task::spawn_blocking(move || {
            s.control.run_deployment_cycle(&s.durable, &s.effects)
        })
        .await;
        if let Err(e) = ran {
            tracing::error!(error = %e, "deployment cycle task failed");
        }
    }
}

/// With the cluster's stream: takes or renews the leader lease every third of its TTL.
async fn hold_leadership(state: Arc<AppState>) {
    if state.durable.config.cluster.nats.url.is_empty() {
        return;
    }
    let every = Duration::from_millis((state.durable.config.cluster.lease_ttl / 3).max(300) as u64);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let d = state.durable.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || d.hold_leadership()).await {
            tracing::error!(error = %e, "leader lease task failed");
        }
    }
}

/// The URL other replicas forward reads to: `cluster.advertiseUrl`, else the listening
/// address (the host name in place of an unspecified address).
fn advertised_url(configured: &str, listener: &tokio::net::TcpListener) -> anyhow::Result<String> {
    if !configured.is_empty() {
        return Ok(configured.trim_end_matches('/').to_string());
    }
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    Ok(format!("http://{host}:{}", addr.port()))
}

/// With `cluster.ownership: leases`: a round of partition ownership every third of the
/// lease TTL (a loop of its own: taking a partition replays it, which must not delay the
/// leader lease).
async fn hold_partitions(state: Arc<AppState>) {
    if state.durable.config.cluster.ownership != crate::config::Ownership::Leases {
        return;
    }
    let every = Duration::from_millis((state.durable.config.cluster.lease_ttl / 3).max(300) as u64);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let d = state.durable.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || d.hold_partitions()).await {
            tracing::error!(error = %e, "partition ownership task failed");
        }
    }
}

/// Publishes the overview once a second while someone listens. It reads the last
/// decisions and never evaluates: the evaluation cycle keeps them fresh.
async fn publish_overview_every_second(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if !state.effects.bus.has_subscribers() {
            continue;
        }
        let s = state.clone();
        let Ok((now, ov)) = tokio::task::spawn_blocking(move || {
            let ov = crate::control::overview::current(
                &s.durable,
                &s.control.memory,
                &s.answers,
                60_000,
            );
            (s.durable.now(), ov)
        })
        .await
        else {
            continue;
        };
        state
            .effects
            .bus
            .publish(now, &crate::effects::StreamEvent::Overview(ov));
    }
}

/// Writes a backup every `backup.interval` into `backup.dir` (when set) and keeps the newest
/// `backup.keep`.
async fn backup_every(state: Arc<AppState>) {
    let cfg = state.durable.config.backup.clone();
    if cfg.dir.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(cfg.interval.max(60_000) as u64));
    tick.tick().await;
    loop {
        tick.tick().await;
        let d = state.durable.clone();
        let cfg = cfg.clone();
        let done =
            tokio::task::spawn_blocking(move || crate::durable::backup::scheduled(&d, &cfg)).await;
        match done {
            Ok(Ok(path)) => tracing::info!(file = %path.display(), "scheduled backup written"),
            Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
            Err(e) => tracing::error!(error = %e, "backup task failed"),
        }
    }
}
