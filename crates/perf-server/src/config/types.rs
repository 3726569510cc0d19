//! The sections of the configuration file, with their defaults.

use perf_core::config::{HeavyHitterConfig, Resolution, ViewDef};
use perf_core::duration::serde_label;
use perf_core::EngineConfig;
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Config {
    /// File format version (1).
    pub version: u32,
    /// Listening, storage, limits.
    pub server: ServerConfig,
    /// Bearer tokens.
    pub auth: AuthConfig,
    /// Go-live guardrails.
    pub budgets: Budgets,
    /// Bucket resolutions.
    pub retention: RetentionConfig,
    /// Caller summaries.
    pub heavy_hitters: HeavyHitterConfig,
    /// Aggregation views.
    pub views: Vec<ViewDef>,
    /// SLOs (read-only over the API).
    pub slos: Vec<super::slo::SloConfig>,
    /// OpenSLO v1 or Sloth files whose SLOs are added to `slos` (paths relative to the
    /// configuration file).
    pub slo_files: Vec<String>,
    /// Where alert notifications go.
    pub alerting: AlertingSection,
    /// Deployment gates, canary analysis and regression monitoring.
    pub gates: perf_core::compare::GateConfig,
    /// Routing weights per node.
    pub routing: perf_core::routing::RoutingConfig,
    /// Operation policies and the degradation ladder.
    pub policy: perf_core::policy::PolicyConfig,
    /// Caller identities.
    pub privacy: PrivacyConfig,
    /// Cache spaces: key sampling and the sizes and TTLs advice is compared with.
    pub cache: CacheConfig,
    /// Scheduled backups of the data directory.
    pub backup: BackupConfig,
    /// Recovery drills and failover triggers.
    pub drills: DrillsConfig,
    /// Where definitions, baselines, rollouts, alert history, the outbox and snapshots live.
    pub store: StoreConfig,
    /// Replicas sharing an ingest stream (empty: one server with its local log).
    pub cluster: ClusterConfig,
}

/// `cluster:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ClusterConfig {
    /// The NATS JetStream ingest stream.
    pub nats: NatsConfig,
    /// How long the leader's lease lasts without renewal (renewed every third of it): a
    /// dead leader's alerts, webhooks and rollouts pass to another replica after this.
    #[serde(with = "serde_label")]
    pub lease_ttl: i64,
    /// Which partitions of the stream a replica applies to its aggregates.
    pub ownership: Ownership,
    /// The base URL other replicas reach this one at (`http://host:port`), to forward reads
    /// with `ownership: leases`; empty: `http://` and the address the server listens on (the
    /// host name when it listens on every interface).
    pub advertise_url: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats: NatsConfig::default(),
            lease_ttl: 10_000,
            ownership: Ownership::All,
            advertise_url: String::new(),
        }
    }
}

/// `cluster.ownership`: which partitions of the stream a replica applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(utoipa::ToSchema)]
pub enum Ownership {
    /// Every replica applies every partition: any replica answers every read; apply does
    /// not scale with replicas.
    All,
    /// Each replica applies the partitions it holds a lease on (`partition/<p>`), an even
    /// share of them, snapshotted per partition to the store and taken over by another
    /// replica when it dies or the replicas change: apply scales with replicas, and a
    /// replica's reads cover its own partitions.
    Leases,
}

/// `cluster.nats:` the replicated ingest stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct NatsConfig {
    /// `nats://host:4222` (comma-separated for several servers); empty: the local log.
    pub url: String,
    /// Stream name.
    pub stream: String,
    /// Partitions (`perf.events.<p>`, `p = hash(service) mod partitions`); fixed once the
    /// stream holds records.
    pub partitions: u32,
    /// Copies JetStream keeps of each record (3 on a 3-node NATS cluster).
    pub replicas: usize,
    /// How long the stream keeps records: longer than the snapshot interval by far.
    #[serde(with = "serde_label")]
    pub max_age: i64,
    /// A batch sent again with the same `Idempotency-Key` within this window is stored once.
    #[serde(with = "serde_label")]
    pub duplicate_window: i64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: String::new(),
            stream: "PERF_EVENTS".into(),
            partitions: 32,
            replicas: 1,
            max_age: 7 * 86_400_000,
            duplicate_window: 120_000,
        }
    }
}

/// `store:` section: the embedded SQLite file (default) or a shared PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct StoreConfig {
    /// Empty: SQLite in `server.dataDir`; `postgres://user:password@host:port/database`: that
    /// PostgreSQL database (migrated at start). The ingest log stays in `server.dataDir`.
    pub url: String,
}

/// `drills:` section: what a recovered service is, the RTO target, failover triggers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct DrillsConfig {
    /// Largest error rate of a recovered service (its p99 budget is the capacity one: the
    /// service's ≥ 99 % latency SLO threshold, else `budgets.read.p99Ms`).
    pub error_rate: f64,
    /// How long a service must stay within budget to count as recovered.
    #[serde(with = "serde_label")]
    pub stable_for: i64,
    /// The recovery time objective a drill's measured RTO is held to.
    #[serde(with = "serde_label")]
    pub rto_target: i64,
    /// Failover triggers, one or more per service.
    pub failover: Vec<perf_core::drill::FailoverRule>,
}

impl Default for DrillsConfig {
    fn default() -> Self {
        DrillsConfig {
            error_rate: 0.01,
            stable_for: 5 * 60_000,
            rto_target: 5 * 60_000,
            failover: Vec::new(),
        }
    }
}

/// `backup:` section: scheduled backups (`POST /v1/admin/backup` takes one at any time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct BackupConfig {
    /// Directory the scheduled backups are written to; empty: no scheduled backups.
    pub dir: String,
    /// How often.
    #[serde(with = "serde_label")]
    pub interval: i64,
    /// How many of the newest are kept (older ones are deleted).
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: String::new(),
            interval: 6 * 3_600_000,
            keep: 7,
        }
    }
}

/// `privacy:` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PrivacyConfig {
    /// Replace every event's caller by a keyed hash at ingest.
    pub hash_callers: bool,
    /// The HMAC key (at least 16 characters; use `${VAR}`).
    pub key: String,
}

/// `cache:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct CacheConfig {
    /// Keys sampled per space at most (SHARDS): memory and accuracy per space.
    pub max_sampled_keys: usize,
    /// Sampler period: answers cover the last one to two periods.
    #[serde(with = "serde_label")]
    pub period: i64,
    /// The sizes and TTLs of known spaces.
    pub spaces: Vec<CacheSpaceConfig>,
    /// The server's own cache of profile and overview answers.
    pub answers: AnswerCacheConfig,
}

/// `cache.answers:` the server's cache of profile and overview answers (exact: an answer is
/// reused only while the data it was computed from is unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AnswerCacheConfig {
    /// Answers kept at most (0: no cache, every answer computed).
    pub entries: u64,
    /// Whether its lookups are ingested as events of service `ecosystem-perf`, space
    /// `ecosystem-perf:answers`, so `/v1/cache` shows the server's own cache (the demo turns it on).
    pub report: bool,
}

impl Default for AnswerCacheConfig {
    fn default() -> Self {
        AnswerCacheConfig {
            entries: 1_024,
            report: false,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_sampled_keys: perf_core::cache::DEFAULT_MAX_KEYS,
            period: perf_core::cache::DEFAULT_PERIOD_MS,
            spaces: Vec::new(),
            answers: AnswerCacheConfig::default(),
        }
    }
}

/// One cache space as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheSpaceConfig {
    /// The space (`cacheSpace` of the events).
    pub space: String,
    /// Entries the cache holds.
    #[serde(default)]
    pub size: Option<u64>,
    /// Time to live of an entry.
    #[serde(default, with = "perf_core::duration::serde_label_opt")]
    pub ttl: Option<i64>,
}

/// A webhook receiver (Alertmanager-compatible JSON payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookConfig {
    /// Receiver name (in the payload's `receiver`).
    pub name: String,
    /// URL to POST to.
    pub url: String,
    /// Extra headers (e.g. `Authorization: "Bearer ${HOOK_TOKEN}"`).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Request timeout.
    #[serde(default = "default_webhook_timeout", with = "serde_label")]
    pub timeout: i64,
}

fn default_webhook_timeout() -> i64 {
    5_000
}

/// `alerting:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AlertingSection {
    /// Receivers; every firing and resolved alert goes to each.
    pub webhooks: Vec<WebhookConfig>,
    /// First retry delay; doubles per attempt.
    #[serde(with = "serde_label")]
    pub retry_initial: i64,
    /// Longest retry delay.
    #[serde(with = "serde_label")]
    pub retry_max: i64,
    /// Base URL put in the payload's `externalURL` (default: the listen address).
    pub external_url: Option<String>,
    /// How long alert history rows are kept (`GET /v1/alerts` pages through them).
    #[serde(with = "serde_label")]
    pub history_retention: i64,
}

impl Default for AlertingSection {
    fn default() -> Self {
        AlertingSection {
            webhooks: Vec::new(),
            retry_initial: 1_000,
            retry_max: 300_000,
            external_url: None,
            history_retention: 30 * 86_400_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let engine = EngineConfig::default();
        Config {
            version: 1,
            server: ServerConfig::default(),
            auth: AuthConfig::default(),
            budgets: Budgets::default(),
            retention: RetentionConfig {
                resolutions: engine.resolutions,
            },
            heavy_hitters: engine.heavy_hitters,
            views: engine.views,
            slos: Vec::new(),
            slo_files: Vec::new(),
            alerting: AlertingSection::default(),
            gates: perf_core::compare::GateConfig::default(),
            routing: perf_core::routing::RoutingConfig::default(),
            policy: perf_core::policy::PolicyConfig::default(),
            privacy: PrivacyConfig::default(),
            cache: CacheConfig::default(),
            backup: BackupConfig::default(),
            drills: DrillsConfig::default(),
            store: StoreConfig::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

/// Engine time source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// The wall clock (live serving).
    #[default]
    Wall,
    /// The newest event time seen (replays, offline analysis).
    Event,
}

/// `server:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: String,
    /// Data directory (SQLite database and ingest log).
    pub data_dir: String,
    /// Engine time source.
    pub clock: ClockMode,
    /// How often the aggregates are snapshotted (the log tail after it is replayed at start).
    #[serde(with = "serde_label")]
    pub snapshot_interval: i64,
    /// How often the evaluation cycle runs (SLOs and their alerts, anomalies, the ladder,
    /// routing, risk, tenants); reads never see decisions older than this.
    #[serde(with = "serde_label")]
    pub evaluation_interval: i64,
    /// How often the deployment cycle runs (running rollouts, regression and headroom
    /// alerts).
    #[serde(with = "serde_label")]
    pub deployment_interval: i64,
    /// Bounds.
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:9470".into(),
            data_dir: "./ecosystem-perf-data".into(),
            clock: ClockMode::Wall,
            snapshot_interval: 30_000,
            evaluation_interval: 10_000,
            deployment_interval: 60_000,
            limits: Limits::default(),
        }
    }
}

/// `server.limits:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Limits {
    /// Largest request body, bytes (as sent, compressed or not).
    pub max_body_bytes: usize,
    /// Largest body after gzip decompression, bytes.
    pub max_decompressed_bytes: usize,
    /// Most events or samples in one request.
    pub max_batch_events: usize,
    /// Series per view before new keys overflow.
    pub max_series_per_view: usize,
    /// Series one tenant may hold in a view with a tenant dimension before its new keys
    /// overflow (so one tenant cannot fill a view for the others).
    pub max_series_per_tenant: usize,
    /// Messages buffered per WebSocket client before it is dropped as too slow.
    pub stream_buffer: usize,
    /// Ingest-log bytes written since the last snapshot that trigger an early snapshot.
    pub max_log_bytes: u64,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept (ms).
    #[serde(with = "serde_label")]
    pub header_timeout: i64,
    /// Time a client has to send a request's body (ms).
    #[serde(with = "serde_label")]
    pub body_timeout: i64,
    /// Time a request may take from its headers to its answer (ms); past it, 503.
    #[serde(with = "serde_label")]
    pub request_timeout: i64,
    /// Time in-flight requests get to finish at shutdown before the server stops anyway (ms).
    #[serde(with = "serde_label")]
    pub shutdown_timeout: i64,
    /// Open connections at most (also kept below the process's file-descriptor limit).
    pub max_connections: usize,
    /// Requests handled at once; more get 503 with `Retry-After` (health, readiness and
    /// metrics are exempt).
    pub max_concurrent_requests: usize,
    /// WebSocket subscribers at most; more get 503.
    pub max_stream_clients: usize,
    /// Gzip bodies decompressed at once; more wait.
    pub max_concurrent_decompressions: usize,
    /// Distinct quantiles one query may ask for.
    pub max_query_quantiles: usize,
    /// Series one query may scan.
    pub max_query_series: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            max_batch_events: 50_000,
            max_series_per_view: EngineConfig::default().max_series_per_view,
            max_series_per_tenant: 2_500,
            stream_buffer: 256,
            max_log_bytes: 1 << 30,
            header_timeout: 10_000,
            body_timeout: 30_000,
            request_timeout: 30_000,
            shutdown_timeout: 10_000,
            max_connections: 4096,
            max_concurrent_requests: 512,
            max_stream_clients: 256,
            max_concurrent_decompressions: 4,
            max_query_quantiles: 32,
            max_query_series: 100_000,
        }
    }
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Send events and resource samples.
    Ingest,
    /// Read reports, metrics and the stream.
    Read,
    /// Change configuration.
    Admin,
}

/// One bearer token: its secret in plain text (`token`, from `${VAR}`) or, better, only its
/// SHA-256 (`sha256`, from `ecosystem-perf token hash`), never both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (logged, never the token).
    pub name: String,
    /// The secret (write `${VAR}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The secret's SHA-256, 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// A tenant (DAO) token: it sends and reads only this tenant's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Requests per second this token may make (429 past it); unlimited without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

/// A token's request rate: a steady rate with a burst on top (GCRA, as `governor` does).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests that may arrive at once.
    pub burst: u32,
}

impl TokenConfig {
    /// A token given in plain text, for every tenant.
    pub fn plain(name: &str, token: &str, scopes: &[Scope]) -> TokenConfig {
        TokenConfig {
            name: name.into(),
            token: Some(token.into()),
            sha256: None,
            scopes: scopes.to_vec(),
            tenant: None,
            rate_limit: None,
        }
    }
}

/// `auth:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Tokens; without any, the server only listens on loopback.
    pub tokens: Vec<TokenConfig>,
}

/// Latency budgets of one request class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LatencyBudget {
    /// p95 budget, ms.
    pub p95_ms: f64,
    /// p99 budget, ms (also the "slow request" threshold).
    pub p99_ms: f64,
}

/// `budgets:` section: the go-live guardrails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Budgets {
    /// Reads.
    pub read: LatencyBudget,
    /// Writes.
    pub write: LatencyBudget,
    /// Complex writes.
    pub complex_write: LatencyBudget,
    /// Minimum cache hit rate.
    pub cache_hit_rate: f64,
    /// Minimum capacity headroom at peak.
    pub headroom: f64,
    /// Maximum share of the error budget burnt per week.
    pub weekly_error_budget_burn: f64,
    /// Monthly cost budget (currency units), none by default.
    pub monthly_cost_budget: Option<f64>,
    /// Share of the monthly cost budget not to exceed.
    pub cost_ceiling: f64,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            read: LatencyBudget {
                p95_ms: 150.0,
                p99_ms: 200.0,
            },
            write: LatencyBudget {
                p95_ms: 200.0,
                p99_ms: 300.0,
            },
            complex_write: LatencyBudget {
                p95_ms: 200.0,
                p99_ms: 300.0,
            },
            cache_hit_rate: 0.85,
            headroom: 0.30,
            weekly_error_budget_burn: 0.10,
            monthly_cost_budget: None,
            cost_ceiling: 0.80,
        }
    }
}

/// `retention:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Finest first.
    pub resolutions: Vec<Resolution>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            resolutions: EngineConfig::default().resolutions,
        }
    }
}
