//! The comparison engine's statistics against scipy / statsmodels reference values
//! (`scripts/stats_reference.py` writes the fixture), to 1e-6.

use perf_core::compare::{mann_whitney, multiple, normal, proportion, trend};
use serde_json::Value;

const TOL: f64 = 1e-6;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/stats_reference.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: got {got}, scipy/statsmodels {want}"
    );
}

#[test]
fn mann_whitney_matches_scipy() {
    let f = fixture();
    for case in f["mann_whitney"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let r = mann_whitney::from_values(&floats(&case["candidate"]), &floats(&case["baseline"]))
            .unwrap();
        assert_eq!(
            r.exact,
            case["exact"].as_bool().unwrap(),
            "{name}: exactness"
        );
        close(r.u, case["u"].as_f64().unwrap(), &format!("{name} U"));
        close(
            r.p_greater,
            case["p_greater"].as_f64().unwrap(),
            &format!("{name} p greater"),
        );
        close(
            r.p_less,
            case["p_less"].as_f64().unwrap(),
            &format!("{name} p less"),
        );
        close(
            r.p_two_sided,
            case["p_two_sided"].as_f64().unwrap(),
            &format!("{name} p two-sided"),
        );
    }
}

#[test]
fn proportion_intervals_and_test_match_statsmodels() {
    let f = fixture();
    let u = |v: &Value| v.as_u64().unwrap();
    for c in f["wilson"].as_array().unwrap() {
        let z = normal::quantile(1.0 - c["alpha"].as_f64().unwrap() / 2.0);
        let (lo, hi) = proportion::wilson(u(&c["count"]), u(&c["nobs"]), z);
        close(lo, c["low"].as_f64().unwrap(), &format!("wilson low {c}"));
        close(hi, c["high"].as_f64().unwrap(), &format!("wilson high {c}"));
    }
    for c in f["newcombe"].as_array().unwrap() {
        let z = normal::quantile(1.0 - c["alpha"].as_f64().unwrap() / 2.0);
        let (lo, hi) =
            proportion::newcombe_diff(u(&c["c1"]), u(&c["n1"]), u(&c["c2"]), u(&c["n2"]), z);
        close(lo, c["low"].as_f64().unwrap(), &format!("newcombe low {c}"));
        close(
            hi,
            c["high"].as_f64().unwrap(),
            &format!("newcombe high {c}"),
        );
    }
    for c in f["z_test"].as_array().unwrap() {
        let p = proportion::z_test_larger(u(&c["c1"]), u(&c["n1"]), u(&c["c2"]), u(&c["n2"]));
        close(p, c["p"].as_f64().unwrap(), &format!("z test {c}"));
    }
}

#[test]
fn corrections_and_trend_match_statsmodels_and_scipy() {
    let f = fixture();
    for c in f["adjust"].as_array().unwrap() {
        let p = floats(&c["p"]);
        for (got, want) in multiple::adjust(&p, multiple::Correction::Holm)
            .iter()
            .zip(floats(&c["holm"]))
        {
            close(*got, want, "holm");
        }
        for (got, want) in multiple::adjust(&p, multiple::Correction::Bh)
            .iter()
            .zip(floats(&c["bh"]))
        {
            close(*got, want, "bh");
        }
    }
    for c in f["theil_sen"].as_array().unwrap() {
        let pts: Vec<(f64, f64)> = floats(&c["t"]).into_iter().zip(floats(&c["y"])).collect();
        close(
            trend::fit(&pts).unwrap().slope,
            c["slope"].as_f64().unwrap(),
            "theil-sen slope",
        );
    }
}
