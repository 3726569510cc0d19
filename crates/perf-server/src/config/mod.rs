//! The configuration file (`ecosystem-perf.yaml`, `version: 1`, docs/ARCHITECTURE.md §7): serde types with
//! `deny_unknown_fields` (a typo is an error naming the key's path), `${VAR}` interpolation,
//! validation, and the conversion into the engine's configuration. Defaults live in
//! `Default` impls and in `DEFAULT_YAML`, which a test keeps identical to them.

mod error;
mod interpolate;
pub mod openslo;
pub mod openslo_composite;
mod openslo_meta;
pub mod slo;
pub mod slo_correction;
pub mod sloth;
pub mod tokens;
mod types;

pub use error::ConfigError;
pub use interpolate::interpolate_env;
pub use types::*;

use perf_core::EngineConfig;
use std::path::Path;

/// The documented default configuration, printed by `config default`.
pub const DEFAULT_YAML: &str = include_str!("default.yaml");

impl Config {
    /// Parses configuration text (after `${VAR}` interpolation) and validates it.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let text = interpolate_env(text)?;
        let start_from =
            "start from `ecosystem-perf config default`, which prints every key with its default";
        // The version is required: a file without one may have been written for another
        // format (or be the wrong file), and defaults would quietly replace all of it.
        match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) {
            Ok(serde_yaml_ng::Value::Null) => {
                return Err(ConfigError::Invalid {
                    path: "(top level)".into(),
                    message: format!("the configuration is empty; {start_from}"),
                })
            }
            Ok(serde_yaml_ng::Value::Mapping(top)) if !top.contains_key("version") => {
                return Err(ConfigError::Invalid {
                    path: "version".into(),
                    message: format!("missing; this binary reads `version: 1` ({start_from})"),
                })
            }
            _ => {}
        }
        let de = serde_yaml_ng::Deserializer::from_str(&text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                "(top level)".to_string()
            } else {
                path
            };
            // The YAML error may already start with the path; say it once.
            let inner = e.inner().to_string();
            let message = inner
                .strip_prefix(&format!("{path}: "))
                .map(str::to_string)
                .unwrap_or(inner);
            ConfigError::Invalid { path, message }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a file, with the SLO files it names.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = Config::from_yaml(&text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (i, file) in config.slo_files.clone().iter().enumerate() {
            let full = base.join(file);
            let text = std::fs::read_to_string(&full).map_err(|source| ConfigError::Read {
                path: full.display().to_string(),
                source,
            })?;
            let slos = import_slos(&text).map_err(|message| ConfigError::Invalid {
                path: format!("sloFiles[{i}] ({})", full.display()),
                message,
            })?;
            config.slos.extend(slos);
        }
        config.validate()?;
        Ok(config)
    }

    /// For an offline run on a temporary data directory (offline `golive`, `selfcheck`):
    /// no shared PostgreSQL store, no cluster stream, no scheduled backups — an offline
    /// replay must neither read nor write what the live servers share.
    pub fn detach(&mut self) {
        self.store.url.clear();
        self.cluster.nats.url.clear();
        self.backup.dir.clear();
    }

    /// Checks rules that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |path: &str, message: String| {
            Err(ConfigError::Invalid {
                path: path.into(),
                message,
            })
        };
        if self.version != 1 {
            return invalid(
                "version",
                format!(
                    "unsupported version {}; this binary reads version 1",
                    self.version
                ),
            );
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return invalid(
                "server.listen",
                format!(
                    "{:?} is not an address like 127.0.0.1:9470",
                    self.server.listen
                ),
            );
        }
        let url = &self.store.url;
        if !(url.is_empty() || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return invalid(
                "store.url",
                "only postgres:// URLs are supported (leave it empty for SQLite in server.dataDir)"
                    .into(),
            );
        }
        if !url.is_empty() && !self.backup.dir.is_empty() {
            return invalid(
                "backup.dir",
                "scheduled backups copy the SQLite store; with store.url set, back PostgreSQL up with its own tools (pg_dump, or continuous archiving)".into(),
            );
        }
        let nats = &self.cluster.nats;
        if self.cluster.lease_ttl < 1_000 {
            return invalid(
                "cluster.leaseTtl",
                "at least 1s (it is renewed every third of it)".into(),
            );
        }
        if self.cluster.ownership == Ownership::Leases && (nats.url.is_empty() || url.is_empty()) {
            return invalid(
                "cluster.ownership",
                "leases share the partitions of cluster.nats among replicas through the store: set cluster.nats.url and store.url (PostgreSQL)".into(),
            );
        }
        let advertise = &self.cluster.advertise_url;
        if !(advertise.is_empty()
            || advertise.starts_with("http://")
            || advertise.starts_with("https://"))
        {
            return invalid(
                "cluster.advertiseUrl",
                "expected http://host:port or https://host:port".into(),
            );
        }
        if !nats.url.is_empty() {
            if !nats.url.split(',').all(|u| u.trim().starts_with("nats://")) {
                return invalid(
                    "cluster.nats.url",
                    "expected nats://host:port (comma-separated for several servers)".into(),
                );
            }
            if !(1..=1024).contains(&nats.partitions)
                || !(1..=5).contains(&nats.replicas)
                || nats.max_age <= 0
                || nats.duplicate_window <= 0
                || nats.stream.is_empty()
                || !nats
                    .stream
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return invalid(
                    "cluster.nats",
                    "partitions must be in 1..=1024, replicas in 1..=5, maxAge and duplicateWindow positive, stream a name of letters, digits, _ and -".into(),
                );
            }
        }
        let dr = &self.drills;
        if !(0.0..=1.0).contains(&dr.error_rate) || dr.stable_for <= 0 || dr.rto_target <= 0 {
            return invalid(
                "drills",
                "errorRate must be in [0, 1], stableFor and rtoTarget positive".into(),
            );
        }
        for (i, r) in dr.failover.iter().enumerate() {
            let bad_rate = r.error_rate.is_some_and(|e| !(e > 0.0 && e <= 1.0));
            let bad_p99 = r.p99_ms.is_some_and(|p| !(p > 0.0 && p.is_finite()));
            if r.service.is_empty()
                || (r.error_rate.is_none() && r.p99_ms.is_none())
                || bad_rate
                || bad_p99
                || r.for_ms <= 0
            {
                return invalid(
                    &format!("drills.failover[{i}]"),
                    "a rule needs a service, errorRate in (0, 1] and/or p99Ms > 0, and a positive `for`".into(),
                );
            }
        }
        if self.backup.interval < 60_000 || self.backup.keep == 0 {
            return invalid(
                "backup",
                "interval must be at least 1m and keep at least 1".into(),
            );
        }
        let l = &self.server.limits;
        // Upper bounds: a value past them is a typo (a unit, or digits too many), and would
        // let one request take the machine's memory.
        for (key, v, max, what) in [
            (
                "server.limits.maxBodyBytes",
                l.max_body_bytes,
                1 << 30,
                "1 GiB",
            ),
            (
                "server.limits.maxDecompressedBytes",
                l.max_decompressed_bytes,
                4 << 30,
                "4 GiB",
            ),
            (
                "server.limits.maxBatchEvents",
                l.max_batch_events,
                10_000_000,
                "10,000,000",
            ),
            (
                "server.limits.maxSeriesPerView",
                l.max_series_per_view,
                10_000_000,
                "10,000,000",
            ),
            (
                "server.limits.maxConnections",
                l.max_connections,
                1_000_000,
                "1,000,000",
            ),
        ] {
            if v > max {
                return invalid(
                    key,
                    format!("{v} is more than the most this server takes, {what}"),
                );
            }
        }
        for (key, ms) in [
            ("server.limits.headerTimeout", l.header_timeout),
            ("server.limits.bodyTimeout", l.body_timeout),
            ("server.limits.requestTimeout", l.request_timeout),
            ("server.limits.shutdownTimeout", l.shutdown_timeout),
        ] {
            if ms > 3_600_000 {
                return invalid(key, "must be at most 1h".into());
            }
        }
        if l.max_body_bytes == 0
            || l.max_batch_events == 0
            || l.max_decompressed_bytes < l.max_body_bytes
        {
            return invalid(
                "server.limits",
                "limits must be positive and maxDecompressedBytes >= maxBodyBytes".into(),
            );
        }
        for (key, v) in [
            ("server.limits.maxConnections", l.max_connections),
            ("server.limits.maxSeriesPerTenant", l.max_series_per_tenant),
            (
                "server.limits.maxConcurrentRequests",
                l.max_concurrent_requests,
            ),
            ("server.limits.maxStreamClients", l.max_stream_clients),
            (
                "server.limits.maxConcurrentDecompressions",
                l.max_concurrent_decompressions,
            ),
            ("server.limits.maxQueryQuantiles", l.max_query_quantiles),
            ("server.limits.maxQuerySeries", l.max_query_series),
        ] {
            if v == 0 {
                return invalid(key, "must be at least 1".into());
            }
        }
        for (key, ms) in [
            ("server.limits.headerTimeout", l.header_timeout),
            ("server.limits.bodyTimeout", l.body_timeout),
            ("server.limits.requestTimeout", l.request_timeout),
            ("server.limits.shutdownTimeout", l.shutdown_timeout),
        ] {
            if ms < 100 {
                return invalid(key, "must be at least 100ms".into());
            }
        }
        for (i, t) in self.auth.tokens.iter().enumerate() {
            match (&t.token, &t.sha256) {
                (Some(_), Some(_)) | (None, None) => {
                    return invalid(
                        &format!("auth.tokens[{i}]"),
                        "give exactly one of token (plain text) and sha256 (from `ecosystem-perf token hash`)".into(),
                    )
                }
                (Some(token), None) if token.len() < 16 => {
                    return invalid(
                        &format!("auth.tokens[{i}].token"),
                        "must be at least 16 characters".into(),
                    );
                }
                (None, Some(hex)) if tokens::parse_digest(hex).is_none() => {
                    return invalid(
                        &format!("auth.tokens[{i}].sha256"),
                        "must be 64 hexadecimal digits (ecosystem-perf token hash prints it)".into(),
                    );
                }
                _ => {}
            }
            if t.tenant.as_deref().is_some_and(|x| x.trim().is_empty()) {
                return invalid(
                    &format!("auth.tokens[{i}].tenant"),
                    "must name a tenant".into(),
                );
            }
            if t.rate_limit
                .is_some_and(|r| r.per_second == 0 || r.burst == 0)
            {
                return invalid(
                    &format!("auth.tokens[{i}].rateLimit"),
                    "perSecond and burst must be at least 1".into(),
                );
            }
            if t.tenant.is_some() && t.scopes.contains(&Scope::Admin) {
                return invalid(
                    &format!("auth.tokens[{i}].scopes"),
                    "a tenant token cannot have the admin scope".into(),
                );
            }
            if t.scopes.is_empty() {
                return invalid(
                    &format!("auth.tokens[{i}].scopes"),
                    "list at least one of ingest, read, admin".into(),
                );
            }
        }
        for (name, r) in [
            ("budgets.cacheHitRate", self.budgets.cache_hit_rate),
            ("budgets.headroom", self.budgets.headroom),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return invalid(name, "must be a fraction between 0 and 1".into());
            }
        }
        for (i, w) in self.alerting.webhooks.iter().enumerate() {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return invalid(
                    &format!("alerting.webhooks[{i}].url"),
                    format!("{:?} is not an http(s) URL", w.url),
                );
            }
        }
        if self.alerting.history_retention < 3_600_000 {
            return invalid("alerting.historyRetention", "must be at least 1h".into());
        }
        if self.alerting.retry_initial > self.alerting.retry_max {
            return invalid("alerting.retryInitial", "must not exceed retryMax".into());
        }
        self.gates.validate().map_err(|e| {
            let text = e.to_string();
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            let path = message.split_whitespace().next().unwrap_or("gates");
            ConfigError::Invalid {
                path: path.to_string(),
                message: message.to_string(),
            }
        })?;
        self.routing.validate().map_err(|e| {
            let text = e.to_string();
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            let path = message.split_whitespace().next().unwrap_or("routing");
            ConfigError::Invalid {
                path: path.to_string(),
                message: message.to_string(),
            }
        })?;
        if !(256..=65_536).contains(&self.cache.max_sampled_keys) {
            return invalid(
                "cache.maxSampledKeys",
                "must be between 256 and 65536".into(),
            );
        }
        if !(60_000..=7 * 86_400_000).contains(&self.cache.period) {
            return invalid("cache.period", "must be between 1m and 7d".into());
        }
        let mut spaces = std::collections::HashSet::new();
        for (i, c) in self.cache.spaces.iter().enumerate() {
            if c.space.is_empty() || c.space.len() > 256 {
                return invalid(
                    &format!("cache.spaces[{i}].space"),
                    "must be a string of 1-256 characters".into(),
                );
            }
            if !spaces.insert(c.space.as_str()) {
                return invalid(
                    &format!("cache.spaces[{i}].space"),
                    format!("{:?} is listed twice", c.space),
                );
            }
            if c.size.is_some_and(|n| n == 0 || n > 1_000_000_000_000) {
                return invalid(
                    &format!("cache.spaces[{i}].size"),
                    "must be between 1 and 10^12 entries".into(),
                );
            }
            if c.ttl.is_some_and(|t| t < 1_000) {
                return invalid(
                    &format!("cache.spaces[{i}].ttl"),
                    "must be at least 1s".into(),
                );
            }
        }
        if self.privacy.hash_callers && self.privacy.key.chars().count() < 16 {
            return invalid(
                "privacy.key",
                "must be at least 16 characters when hashCallers is on (use ${VAR})".into(),
            );
        }
        self.policy.validate().map_err(|e| {
            let text = e.to_string();
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            let path = message.split_whitespace().next().unwrap_or("policy");
            ConfigError::Invalid {
                path: path.to_string(),
                message: message.to_string(),
            }
        })?;
        let mut names = std::collections::HashSet::new();
        for (i, slo) in self.slos.iter().enumerate() {
            if slo.is_composite() {
                let journey = slo.to_composite(true).map_err(|m| {
                    let (field, message) = m.split_once(": ").unwrap_or(("", m.as_str()));
                    ConfigError::Invalid {
                        path: format!("slos[{i}].{field}"),
                        message: message.to_string(),
                    }
                })?;
                for (k, m) in journey.members.iter().enumerate() {
                    if !self
                        .slos
                        .iter()
                        .any(|o| o.name == m.slo && !o.is_composite())
                    {
                        return invalid(
                            &format!("slos[{i}].members[{k}].slo"),
                            format!("{:?} is not an SLO of this file", m.slo),
                        );
                    }
                }
                // The rules the engine applies at start (a member keeping counts for less
                // than the journey's window, …), checked here on the file's SLOs.
                let mut set = perf_core::slo::SloSet::new(1);
                for o in self.slos.iter().filter(|o| !o.is_composite()) {
                    if let Ok(def) = o.to_def(true) {
                        let _ = set.upsert(def);
                    }
                }
                if let Err(m) = set.upsert_composite(journey) {
                    let (field, message) = m.split_once(": ").unwrap_or(("", m.as_str()));
                    return invalid(&format!("slos[{i}].{field}"), message.to_string());
                }
                if !names.insert(slo.name.as_str()) {
                    return invalid(
                        &format!("slos[{i}].name"),
                        format!("{:?} is used twice", slo.name),
                    );
                }
                continue;
            }
            slo.to_def(true).map_err(|m| {
                let (field, message) = m.split_once(": ").unwrap_or(("", m.as_str()));
                ConfigError::Invalid {
                    path: format!("slos[{i}].{field}"),
                    message: message.to_string(),
                }
            })?;
            slo.config_corrections(0).map_err(|m| {
                let (field, message) = m.split_once(": ").unwrap_or(("", m.as_str()));
                ConfigError::Invalid {
                    path: format!("slos[{i}].{field}"),
                    message: message.to_string(),
                }
            })?;
            let ids: std::collections::HashSet<&str> = slo
                .corrections
                .iter()
                .flatten()
                .map(|c| c.id.as_str())
                .collect();
            if ids.len() != slo.corrections.as_ref().map_or(0, Vec::len) {
                return invalid(
                    &format!("slos[{i}].corrections"),
                    "a correction id is used twice".to_string(),
                );
            }
            if !names.insert(slo.name.as_str()) {
                return invalid(
                    &format!("slos[{i}].name"),
                    format!("{:?} is used twice", slo.name),
                );
            }
        }
        self.engine_config()
            .validate()
            .map_err(|e| ConfigError::Invalid {
                path: "retention/views".into(),
                message: e.to_string(),
            })
    }

    /// How the engine sizes its cache key samplers.
    pub fn cache_sampler_settings(&self) -> perf_core::cache::SamplerSettings {
        perf_core::cache::SamplerSettings {
            max_keys: self.cache.max_sampled_keys,
            period_ms: self.cache.period,
        }
    }

    /// The engine's configuration.
    pub fn engine_config(&self) -> EngineConfig {
        let base = EngineConfig::default();
        EngineConfig {
            resolutions: self.retention.resolutions.clone(),
            views: self.views.clone(),
            max_series_per_view: self.server.limits.max_series_per_view,
            heavy_hitters: self.heavy_hitters,
            slow: perf_core::config::SlowThresholds {
                read_ms: self.budgets.read.p99_ms,
                write_ms: self.budgets.write.p99_ms,
                complex_write_ms: self.budgets.complex_write.p99_ms,
            },
            max_future: base.max_future,
        }
    }
}

/// SLOs of an OpenSLO v1 or Sloth `prometheus/v1` document, recognised by its header.
pub fn import_slos(text: &str) -> Result<Vec<slo::SloConfig>, String> {
    let head: serde_yaml_ng::Value = serde_yaml_ng::Deserializer::from_str(text)
        .next()
        .map(serde::Deserialize::deserialize)
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    if head.get("apiVersion").is_some() {
        openslo::parse(text)
    } else if head.get("version").and_then(|v| v.as_str()) == Some("prometheus/v1") {
        sloth::parse(text)
    } else {
        Err(
            "not an OpenSLO (apiVersion: openslo/v1) or Sloth (version: prometheus/v1) document"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests;
