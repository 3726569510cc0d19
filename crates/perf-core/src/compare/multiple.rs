//! Multiple-testing corrections over a family of p-values: Holm's step-down procedure
//! (controls the family-wise error rate under any dependence) and Benjamini–Hochberg
//! (controls the false-discovery rate under independence or positive dependence). Both
//! return adjusted p-values in the input order, compared with α directly; they match R's
//! `p.adjust(method = "holm" | "BH")` and statsmodels' `multipletests`.

use serde::{Deserialize, Serialize};

/// Which correction a gate applies across all its tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Correction {
    /// Holm–Bonferroni (family-wise error rate).
    #[default]
    Holm,
    /// Benjamini–Hochberg (false-discovery rate).
    Bh,
    /// No correction.
    None,
}

/// Adjusted p-values, same order as `p`.
pub fn adjust(p: &[f64], method: Correction) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    match method {
        Correction::None => out.copy_from_slice(p),
        Correction::Holm => {
            let mut running: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                let v = ((m - rank) as f64 * p[i]).min(1.0);
                running = running.max(v);
                out[i] = running;
            }
        }
        Correction::Bh => {
            let mut running: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                let v = (m as f64 * p[i] / (rank + 1) as f64).min(1.0);
                running = running.min(v);
                out[i] = running;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_and_bh_match_hand_computed_values() {
        let p = [0.01, 0.04, 0.03, 0.005];
        // Holm: sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.03, 0.06, 0.06 (monotone).
        let h = adjust(&p, Correction::Holm);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, b) in h.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{h:?}");
        }
        // BH: 0.005*4/1=0.02, 0.01*4/2=0.02, 0.03*4/3=0.04, 0.04*4/4=0.04.
        let b = adjust(&p, Correction::Bh);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (a, w) in b.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{b:?}");
        }
        assert_eq!(adjust(&[], Correction::Holm), Vec::<f64>::new());
    }
}
