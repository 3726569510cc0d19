//! Import of composite SLOs written in OpenSLO's v2alpha draft (`apiVersion:
//! openslo.com/v2alpha`), where an SLO with several objectives, each naming its SLI
//! (`sliRef`, or an inline `sli` with a name) and a `compositeWeight`, is a composite. It
//! maps onto a journey (`kind: composite`) as follows:
//!
//! - each objective is a member: `sliRef` (or the inline SLI's `metadata.name`) names the
//!   member SLO, `compositeWeight` is its weight (default 1), and an objective labelled
//!   `key: "true"` is a key member (the draft has no such notion; labels are free);
//! - the journey's objective is the weighted mean of the objectives' targets: the journey's
//!   error ratio is the weighted mean of its members', so members each just meeting their
//!   targets make a journey that just meets it;
//! - `timeWindow` as in v1; only `Occurrences` budgeting (the journey is a ratio of counts).
//!
//! An SLO of that draft with a single objective is not a composite and is refused: write it
//! as `openslo/v1`.
//!
//! ```yaml
//! apiVersion: openslo.com/v2alpha
//! kind: SLO
//! metadata: {name: checkout}
//! spec:
//!   service: checkout
//!   timeWindow: [{duration: 28d, isRolling: true}]
//!   budgetingMethod: Occurrences
//!   objectives:
//!     - {sliRef: feed, target: 0.99, compositeWeight: 3}
//!     - {sliRef: pay, target: 0.995}
//!     - {sliRef: auth, target: 0.999, labels: {key: "true"}}
//! ```

use super::openslo_meta::Metadata;
use super::slo::{MemberConfig, SloConfig, WindowConfig};
use serde::Deserialize;

/// The `apiVersion`s read as the v2alpha draft.
pub const API_VERSIONS: [&str; 3] = [
    "openslo.com/v2alpha",
    "openslo.com/v2alpha1",
    "openslo/v2alpha",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    time_window: Vec<TimeWindow>,
    #[serde(default)]
    budgeting_method: Option<String>,
    objectives: Vec<Objective>,
    #[serde(default, rename = "alertPolicies")]
    _alert_policies: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindow {
    duration: String,
    #[serde(default)]
    is_rolling: Option<bool>,
    #[serde(default)]
    calendar: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    #[serde(default, rename = "displayName")]
    _display_name: Option<String>,
    #[serde(default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    target_percent: Option<f64>,
    #[serde(default)]
    sli_ref: Option<String>,
    #[serde(default)]
    sli: Option<InlineSli>,
    #[serde(default)]
    composite_weight: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct InlineSli {
    metadata: Metadata,
}

/// The journey of one v2alpha `kind: SLO` document.
pub fn convert(value: serde_yaml_ng::Value) -> Result<SloConfig, String> {
    let doc: Document = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
    let spec = doc.spec;
    if spec.objectives.len() < 2 {
        return Err("spec.objectives: an OpenSLO v2alpha SLO is imported as a composite (two or more objectives with sliRef and compositeWeight); write a single-objective SLO as openslo/v1".into());
    }
    if let Some(m) = spec.budgeting_method.as_deref() {
        if m != "Occurrences" {
            return Err(format!(
                "spec.budgetingMethod: {m:?}: a composite is budgeted on Occurrences"
            ));
        }
    }
    let (mut members, mut weighted_target, mut weights) = (Vec::new(), 0.0, 0.0);
    for (i, o) in spec.objectives.iter().enumerate() {
        let slo = match (&o.sli_ref, &o.sli) {
            (Some(r), None) => r.clone(),
            (None, Some(s)) => s.metadata.name.clone(),
            _ => {
                return Err(format!(
                    "spec.objectives[{i}]: name the member with sliRef or an inline sli"
                ))
            }
        };
        let target = match (o.target, o.target_percent) {
            (Some(t), None) => t,
            (None, Some(p)) => p / 100.0,
            _ => {
                return Err(format!(
                    "spec.objectives[{i}]: one of target or targetPercent"
                ))
            }
        };
        let weight = o.composite_weight.unwrap_or(1.0);
        let key = o
            .labels
            .as_ref()
            .and_then(|l| l.get("key"))
            .is_some_and(|v| v == "true");
        weighted_target += weight * target;
        weights += weight;
        members.push(MemberConfig {
            slo,
            weight: (!key).then_some(weight),
            key,
        });
    }
    let window = match spec.time_window.as_slice() {
        [] => None,
        [w] if w.calendar.is_none() && w.is_rolling != Some(false) => {
            Some(WindowConfig::Rolling(w.duration.clone()))
        }
        [_] => return Err("spec.timeWindow: a composite takes a rolling window".into()),
        _ => return Err("spec.timeWindow: exactly one window".into()),
    };
    Ok(SloConfig {
        name: doc.metadata.name,
        description: spec.description,
        kind: Some("composite".into()),
        members: Some(members),
        service: spec.service.unwrap_or_default(),
        operation: None,
        class: None,
        node: None,
        tenant: None,
        version: None,
        sli: String::new(),
        threshold_ms: None,
        objective: (weighted_target / weights * 1e6).round() / 1e4,
        window,
        budgeting_method: None,
        time_slice: None,
        time_slice_target: None,
        per_tenant: false,
        alerting: None,
        corrections: None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_v2alpha_composite_maps_onto_a_journey() {
        let text = "apiVersion: openslo.com/v2alpha\nkind: SLO\nmetadata: {name: checkout}\nspec:\n  service: checkout\n  timeWindow: [{duration: 28d, isRolling: true}]\n  budgetingMethod: Occurrences\n  objectives:\n    - {sliRef: feed, target: 0.99, compositeWeight: 3}\n    - {sliRef: pay, target: 0.995}\n    - {sliRef: auth, target: 0.999, labels: {key: \"true\"}}\n";
        let slos = super::super::import_slos(text).unwrap();
        let c = &slos[0];
        assert!(c.is_composite());
        // (3 × 0.99 + 0.995 + 0.999) / 5 = 0.9928.
        assert_eq!(c.objective, 99.28);
        let journey = c.to_composite(false).unwrap();
        assert_eq!(journey.members.len(), 3);
        assert_eq!(journey.members[0].weight, 3.0);
        assert!(journey.members[2].key);
        let single = "apiVersion: openslo.com/v2alpha\nkind: SLO\nmetadata: {name: one}\nspec:\n  objectives: [{sliRef: feed, target: 0.99}]\n";
        let e = super::super::import_slos(single).unwrap_err();
        assert!(e.contains("openslo/v1"), "{e}");
    }
}
