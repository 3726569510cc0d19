//! What each tenant (DAO subnet) costs, for its treasury: the last 24 hours, the month to
//! date (calendar month, UTC), its share of the whole ecosystem's month, and the next 30 days
//! forecast the way the ecosystem's are (`cost::forecast_30_days` on the tenant's own hourly
//! cost series), read from the first view with a tenant dimension.

use super::cost::{forecast_30_days, month_start};
use crate::engine::Engine;
use crate::error::CoreError;
use crate::view::Dim;
use serde::Serialize;

const DAY: i64 = 86_400_000;

/// One tenant's cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantCost {
    /// Cost over the last 24 hours.
    pub last_24h: f64,
    /// Cost since the start of the month (UTC).
    pub month_to_date: f64,
    /// Its share of the whole ecosystem's month to date (0–1); `null` while nothing cost.
    pub share_of_ecosystem: Option<f64>,
    /// Forecast of the next 30 days.
    pub forecast_30d: Option<f64>,
    /// Its 95 % upper bound.
    pub forecast_30d_upper: Option<f64>,
    /// `hourly_model` or `recent_rate` (under 16 hours of cost: no trend or seasonality).
    pub forecast_basis: Option<&'static str>,
}

/// `tenant`'s cost at `now`; `None` when no view has a tenant dimension.
pub fn tenant_cost(
    engine: &Engine,
    tenant: &str,
    now: i64,
) -> Result<Option<TenantCost>, CoreError> {
    let Some(view) = engine
        .views()
        .iter()
        .find(|v| v.def.dims.contains(&Dim::Tenant))
        .map(|v| v.def.name.clone())
    else {
        return Ok(None);
    };
    let mine = [(Dim::Tenant, tenant)];
    let month = month_start(now);
    let month_to_date = engine.query(&view, &mine, month, now + 1)?.cost;
    // Events without a tenant are in no tenant view: the ecosystem's month is read from the
    // first view, which holds every event.
    let first = engine.views()[0].def.name.clone();
    let everyone = engine.query(&first, &[], month, now + 1)?.cost;
    let forecast = forecast_30_days(engine, &view, &mine, now)?;
    Ok(Some(TenantCost {
        last_24h: engine.query(&view, &mine, now - DAY, now + 1)?.cost,
        month_to_date,
        share_of_ecosystem: (everyone > 0.0).then(|| month_to_date / everyone),
        forecast_30d: forecast.total,
        forecast_30d_upper: forecast.upper,
        forecast_basis: forecast.basis,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;
    use crate::EngineConfig;

    const HOUR: i64 = 3_600_000;
    /// 2026-01-10T00:00:00Z: ten days into the month.
    const T0: i64 = 1_768_003_200_000;

    /// `hours` of traffic ending at `T0 + hours`: per hour 60 requests of dao-a at 0.02 and
    /// 30 of dao-b at 0.01, and 10 without a tenant at 0.05.
    fn engine(hours: i64) -> Engine {
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        for h in 0..hours {
            let t = T0 + h * HOUR;
            let mut batch = Vec::new();
            for (tenant, n, cost) in [
                (Some("dao-a"), 60, 0.02),
                (Some("dao-b"), 30, 0.01),
                (None, 10, 0.05),
            ] {
                for k in 0..n {
                    let mut e = Event::new(t + k * (HOUR / n), "qflow", "POST /tx", 20.0);
                    e.tenant = tenant.map(str::to_string);
                    e.cost = Some(cost);
                    batch.push(e);
                }
            }
            engine.ingest(&batch, t + HOUR - 1);
        }
        engine
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn sums_each_tenants_cost_and_forecasts_its_flat_rate() {
        let hours = 48;
        let e = engine(hours);
        let now = T0 + hours * HOUR - 1;
        let a = tenant_cost(&e, "dao-a", now).unwrap().unwrap();
        let b = tenant_cost(&e, "dao-b", now).unwrap().unwrap();
        // Exact sums: 60 × 0.02 = 1.2 per hour; 30 × 0.01 = 0.3.
        assert!(close(a.last_24h, 24.0 * 1.2), "{a:?}");
        assert!(close(a.month_to_date, 48.0 * 1.2), "{a:?}");
        assert!(close(b.month_to_date, 48.0 * 0.3), "{b:?}");
        // The ecosystem's month also holds requests without a tenant: 1.2 + 0.3 + 0.5.
        assert!(close(a.share_of_ecosystem.unwrap(), 1.2 / 2.0), "{a:?}");
        // A flat 1.2 per hour over 48 hours: 30 days are 864, the model sees no trend.
        assert_eq!(a.forecast_basis, Some("hourly_model"));
        let f = a.forecast_30d.unwrap();
        assert!((f - 864.0).abs() < 0.01 * 864.0, "{a:?}");
        assert!(a.forecast_30d_upper.unwrap() >= f);
    }

    #[test]
    fn a_young_tenant_is_forecast_from_its_recent_rate_and_an_unknown_one_costs_nothing() {
        let e = engine(3);
        let now = T0 + 3 * HOUR - 1;
        let a = tenant_cost(&e, "dao-a", now).unwrap().unwrap();
        assert_eq!(a.forecast_basis, Some("recent_rate"));
        // 0.2 per 10 minutes × 4,320 ten-minute steps in 30 days.
        assert!(
            (a.forecast_30d.unwrap() - 864.0).abs() < 0.05 * 864.0,
            "{a:?}"
        );
        let nobody = tenant_cost(&e, "dao-zzz", now).unwrap().unwrap();
        assert_eq!(nobody.month_to_date, 0.0);
        assert_eq!(nobody.share_of_ecosystem, Some(0.0));
        assert_eq!(nobody.forecast_30d, None);
    }
}
