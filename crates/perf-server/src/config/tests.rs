//! The documented default is the real default; typos and bad values name their key.

use super::interpolate::interpolate_with;
use super::*;

#[test]
fn documented_default_equals_the_built_in_default() {
    assert_eq!(Config::from_yaml(DEFAULT_YAML).unwrap(), Config::default());
}

#[test]
fn an_empty_file_or_a_missing_version_is_refused() {
    for (yaml, path, says) in [
        ("", "(top level)", "the configuration is empty"),
        (
            "  \n# only a comment\n",
            "(top level)",
            "the configuration is empty",
        ),
        ("server:\n  listen: 127.0.0.1:9470\n", "version", "missing"),
    ] {
        match Config::from_yaml(yaml) {
            Err(ConfigError::Invalid { path: p, message }) => {
                assert_eq!(p, path, "{yaml:?}");
                assert!(message.starts_with(says), "{yaml:?}: {message}");
                assert!(message.contains("config default"), "{message}");
            }
            other => panic!("{yaml:?}: {other:?}"),
        }
    }
}

#[test]
fn an_error_says_its_key_path_once() {
    let err = Config::from_yaml("version: 1\nviews:\n  - {name: v, dims: [service, colour]}\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("views[0].dims[1]: "), "{err}");
    assert_eq!(err.matches("views[0].dims[1]").count(), 1, "{err}");
}

#[test]
fn absurd_limits_are_refused_with_their_key() {
    for (yaml, path) in [
        (
            "maxBodyBytes: 100000000000000",
            "server.limits.maxBodyBytes",
        ),
        (
            "maxDecompressedBytes: 100000000000000",
            "server.limits.maxDecompressedBytes",
        ),
        ("maxBatchEvents: 1000000000", "server.limits.maxBatchEvents"),
        ("requestTimeout: 30d", "server.limits.requestTimeout"),
    ] {
        let text = format!("version: 1\nserver:\n  limits:\n    {yaml}\n");
        match Config::from_yaml(&text) {
            Err(ConfigError::Invalid { path: p, .. }) => assert_eq!(p, path, "{yaml}"),
            other => panic!("{yaml}: {other:?}"),
        }
    }
}

#[test]
fn a_typo_names_the_key_path() {
    let err =
        Config::from_yaml("version: 1\nserver:\n  limits:\n    maxBodyByte: 10\n").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("server.limits"), "{text}");
    assert!(text.contains("maxBodyByte"), "{text}");
}

#[test]
fn bad_values_are_refused_with_their_key() {
    let cases = [
        ("version: 2\n", "version"),
        ("server:\n  listen: nowhere\n", "server.listen"),
        ("server:\n  clock: sundial\n", "server.clock"),
        (
            "server:\n  snapshotInterval: soon\n",
            "server.snapshotInterval",
        ),
        ("budgets:\n  cacheHitRate: 85\n", "budgets.cacheHitRate"),
        (
            "auth:\n  tokens: [{name: a, token: short, scopes: [read]}]\n",
            "auth.tokens[0].token",
        ),
        ("views: [{name: v, dims: [operation]}]\n", "retention/views"),
        ("routing:\n  minWeight: 0\n", "routing.minWeight"),
        (
            "policy:\n  ladder:\n    recoverFactor: 2\n",
            "policy.ladder.recoverFactor",
        ),
        (
            "policy:\n  ladder:\n    levels: []\n",
            "policy.ladder.levels",
        ),
        (
            "routing:\n  weights: {latency: -1}\n",
            "routing.weights.latency",
        ),
        (
            "retention:\n  resolutions: [{width: 1m, keep: 1h}, {width: 90s, keep: 2h}]\n",
            "retention/views",
        ),
        (
            "cluster:\n  ownership: leases\n  nats: {url: nats://127.0.0.1:4222}\n",
            "cluster.ownership",
        ),
        ("cluster:\n  ownership: some\n", "cluster"),
    ];
    for (yaml, path) in cases {
        let yaml = &if yaml.contains("version") {
            yaml.to_string()
        } else {
            format!("version: 1\n{yaml}")
        };
        match Config::from_yaml(yaml) {
            Err(ConfigError::Invalid { path: p, .. }) => {
                assert!(p.starts_with(path), "{yaml}: {p}")
            }
            other => panic!("{yaml}: {other:?}"),
        }
    }
}

#[test]
fn interpolation_reads_variables_and_refuses_unset_ones() {
    let lookup = |n: &str| (n == "TOKEN").then(|| "s3cret".to_string());
    assert_eq!(
        interpolate_with("a: ${TOKEN}", lookup).unwrap(),
        "a: s3cret"
    );
    assert_eq!(
        interpolate_with("a: $${TOKEN}", lookup).unwrap(),
        "a: ${TOKEN}"
    );
    assert!(
        matches!(interpolate_with("a: ${NOPE}", lookup), Err(ConfigError::MissingVar(v)) if v == "NOPE")
    );
}

#[test]
fn slo_entries_are_checked_with_their_path() {
    let ok =
        "version: 1\nslos:\n  - {name: a, service: qnet, sli: availability, objective: 99.9}\n";
    assert_eq!(Config::from_yaml(ok).unwrap().slos.len(), 1);
    let bad = "version: 1\nslos:\n  - {name: a, service: qnet, sli: latency, objective: 99.9}\n";
    match Config::from_yaml(bad) {
        Err(ConfigError::Invalid { path, .. }) => assert_eq!(path, "slos[0].thresholdMs"),
        other => panic!("{other:?}"),
    }
    let twice = "version: 1\nslos:\n  - {name: a, service: q, sli: availability, objective: 99}\n  - {name: a, service: q, sli: availability, objective: 99}\n";
    assert!(
        matches!(Config::from_yaml(twice), Err(ConfigError::Invalid { path, .. }) if path == "slos[1].name")
    );
}

#[test]
fn a_routing_typo_names_its_path() {
    let err = Config::from_yaml("version: 1\nrouting:\n  slowStrat: 1m\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("routing") && text.contains("slowStrat"),
        "{text}"
    );
}

/// Composite SLOs and budget corrections in the file: mistakes name their key path.
#[test]
fn composite_and_correction_mistakes_name_their_key() {
    let base =
        "version: 1\nslos:\n  - {name: feed, service: qnet, sli: availability, objective: 99}\n";
    let cases = [
        (
            "  - {name: j, kind: composite, objective: 99, members: [{slo: nosuch}]}\n",
            "slos[1].members[0].slo",
        ),
        (
            "  - {name: j, kind: composite, objective: 99, members: [{slo: feed, weight: -1}]}\n",
            "slos[1].members[0].weight",
        ),
        (
            "  - {name: j, kind: composite, objective: 99, sli: availability, members: [{slo: feed}]}\n",
            "slos[1].sli",
        ),
        (
            "  - {name: j, kind: journey, objective: 99, members: [{slo: feed}]}\n",
            "slos[1].kind",
        ),
        (
            "  - {name: j, kind: composite, objective: 99, window: 30d, members: [{slo: feed}]}\n",
            "slos[1].window",
        ),
        (
            "  - {name: k, service: qnet, sli: availability, objective: 99, corrections: [{id: m, kind: maintenance, from: '2026-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z', reason: r}]}\n",
            "slos[1].corrections[m]",
        ),
    ];
    for (entry, path) in cases {
        let err = Config::from_yaml(&format!("{base}{entry}")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(path), "{entry}: {text}");
    }
    let ok = format!("{base}  - {{name: j, kind: composite, objective: 99, members: [{{slo: feed, weight: 2}}]}}\n");
    Config::from_yaml(&ok).unwrap();
}
