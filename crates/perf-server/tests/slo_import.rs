//! OpenSLO v1 and Sloth imports: valid fixtures give the expected SLOs; invalid documents
//! give an error that names the field.

use perf_core::slo::{Budgeting, CalendarUnit, Sli, SloWindow};
use perf_server::config::{import_slos, Config};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slo");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()
}

#[test]
fn openslo_documents_become_slos() {
    let slos = import_slos(&read("openslo-valid.yaml")).unwrap();
    assert_eq!(slos.len(), 2, "the Service document is skipped");
    let lat = slos[0].to_def(true).unwrap();
    assert_eq!(lat.name, "feed-latency");
    assert_eq!(
        lat.sli,
        Sli::Latency {
            threshold_ms: 200.0
        }
    );
    assert_eq!(lat.selector.operation.as_deref(), Some("GET /feed"));
    assert!((lat.objective - 0.99).abs() < 1e-12);
    assert_eq!(
        lat.window,
        SloWindow::Rolling {
            length_ms: 28 * 86_400_000
        }
    );
    let avail = slos[1].to_def(true).unwrap();
    assert_eq!(avail.sli, Sli::Availability);
    assert_eq!(
        avail.window,
        SloWindow::Calendar {
            unit: CalendarUnit::Month,
            tz: chrono_tz::America::New_York
        }
    );
    assert_eq!(
        avail.budgeting,
        Budgeting::Timeslices {
            slice_ms: 300_000,
            threshold: 0.95
        }
    );
}

#[test]
fn sloth_specs_become_slos() {
    let slos = import_slos(&read("sloth-valid.yaml")).unwrap();
    let defs: Vec<_> = slos.iter().map(|s| s.to_def(true).unwrap()).collect();
    assert_eq!(defs[0].selector.service, "qwallet");
    assert_eq!(
        defs[0].selector.class,
        Some(perf_core::model::RequestClass::ComplexWrite)
    );
    assert_eq!(
        defs[0].window,
        SloWindow::Rolling {
            length_ms: 30 * 86_400_000
        }
    );
    assert_eq!(
        defs[1].sli,
        Sli::Latency {
            threshold_ms: 150.0
        }
    );
    assert_eq!(
        defs[1].window,
        SloWindow::Rolling {
            length_ms: 7 * 86_400_000
        }
    );
}

fn openslo_with(replace: &str, with: &str) -> String {
    let text = read("openslo-valid.yaml");
    assert!(text.contains(replace), "{replace}");
    text.replacen(replace, with, 1)
}

#[test]
fn invalid_documents_name_the_field() {
    let cases = [
        (openslo_with("kind: SLO", "kind: Slo"), "kind"),
        (openslo_with("duration: 28d", "duration: 28 days"), "spec.timeWindow[0].duration"),
        (openslo_with("target: 0.99}", "target: 99}"), "spec.objectives[0].target"),
        (openslo_with("  service: qnet\n  indicator:\n    metadata", "  indicator:\n    metadata"), "spec"),
        (openslo_with("budgetingMethod: Occurrences", "budgetingMethod: Sometimes"), "spec.budgetingMethod"),
        (openslo_with("type: ecosystem-perf, spec: {operation: GET /feed}", "type: prometheus, spec: {query: 'rate(x[5m])'}"), "spec.indicator.spec.thresholdMetric.metricSource.type"),
        (openslo_with("apiVersion: openslo/v1\nkind: SLO", "apiVersion: openslo/v2\nkind: SLO"), "apiVersion"),
        (read("sloth-valid.yaml").replace("objective: 99.9", "objective: 199"), "slos[0].objective"),
        (read("sloth-valid.yaml").replace("id: ecosystem-perf/availability", "id: sloth-common/availability"), "slos[0].sli.plugin.id"),
        (read("sloth-valid.yaml").replace("    objective: 99\n", ""), "slos[1]"),
        (read("sloth-valid.yaml").replace("plugin:\n        id: ecosystem-perf/availability\n        options: {operation: POST /transfer, class: complex_write}", "events: {error_query: 'a', total_query: 'b'}"), "slos[0].sli.events"),
    ];
    for (text, field) in cases {
        let err = import_slos(&text).unwrap_err();
        let detail = err
            .split_once(": ")
            .map(|x| x.1)
            .unwrap_or(&err)
            .to_string();
        assert!(
            detail.starts_with(field)
                || err.contains(&format!("{field}:"))
                || err.contains(&format!("{field}.")),
            "wanted {field}, got {err}"
        );
    }
}

#[test]
fn configuration_files_pull_in_slo_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        format!("{DIR}/openslo-valid.yaml"),
        dir.path().join("openslo.yaml"),
    )
    .unwrap();
    std::fs::copy(
        format!("{DIR}/sloth-valid.yaml"),
        dir.path().join("sloth.yaml"),
    )
    .unwrap();
    let path = dir.path().join("perf.yaml");
    std::fs::write(&path, "version: 1\nsloFiles: [openslo.yaml, sloth.yaml]\nslos:\n  - {name: own, service: qnet, sli: availability, objective: 99}\n").unwrap();
    let config = Config::load(&path).unwrap();
    let names: Vec<_> = config.slos.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "own",
            "feed-latency",
            "route-availability",
            "transfer-availability",
            "balance-latency"
        ]
    );
    std::fs::write(&path, "version: 1\nsloFiles: [missing.yaml]\n").unwrap();
    assert!(Config::load(&path)
        .unwrap_err()
        .to_string()
        .contains("missing.yaml"));
}
