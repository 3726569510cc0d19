//! `gate`: the offline deployment gate for CI. Each side is an NDJSON event file (plain or
//! `.gz`) or a baseline file written by `baseline freeze --out`; the two sides are read in
//! parallel. Exit codes: 0 proceed, 1 block, 2 bad input (file and line), 3 inconclusive
//! (insufficient data or manual review; `--inconclusive pass|fail` maps it to 0 or 1).

use crate::event_file;
use crate::exit::{BadInput, FAILURE, OK};
use clap::{Args, ValueEnum};
use perf_core::compare::baseline::{collect_event_ref, ByService, Selector, KIND};
use perf_core::compare::{
    evaluate, Baseline, GateConfig, GateReport, OperationSample, Recommendation, SideInfo,
};
use perf_server::config::Config;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::path::PathBuf;

/// Output of `gate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormat {
    /// A table.
    Table,
    /// The report as JSON.
    Json,
    /// A compact pull-request comment.
    Markdown,
}

/// How CI treats an inconclusive gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Inconclusive {
    /// Exit 3.
    #[value(name = "exit3")]
    Exit3,
    /// Exit 0.
    Pass,
    /// Exit 1.
    Fail,
}

/// Arguments of `gate`.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    /// Baseline: NDJSON events (.gz allowed) or a baseline file.
    #[arg(long)]
    pub baseline: PathBuf,
    /// Candidate: NDJSON events (.gz allowed) or a baseline file.
    #[arg(long)]
    pub candidate: PathBuf,
    /// The service (required when the files hold several).
    #[arg(long)]
    pub service: Option<String>,
    /// Only this operation.
    #[arg(long)]
    pub operation: Option<String>,
    /// Only baseline events of this version.
    #[arg(long)]
    pub baseline_version: Option<String>,
    /// Only candidate events of this version.
    #[arg(long)]
    pub candidate_version: Option<String>,
    /// Name of the deployment in the report (default: the candidate's version).
    #[arg(long)]
    pub deployment: Option<String>,
    /// Configuration whose `gates:` section sets thresholds and confidence.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Confidence (overrides the configuration), e.g. 0.99.
    #[arg(long)]
    pub confidence: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GateFormat::Table)]
    pub format: GateFormat,
    /// Exit code of an inconclusive gate (insufficient data, manual review).
    #[arg(long, value_enum, default_value_t = Inconclusive::Exit3)]
    pub inconclusive: Inconclusive,
}

/// Exit code of an inconclusive gate by default.
pub const INCONCLUSIVE: i32 = 3;

/// One side as read from a file.
pub struct Side {
    /// Service → operation → sample.
    pub services: ByService,
    /// File or baseline id.
    pub source: String,
    /// Version of the events (when selected or shared by all).
    pub version: Option<String>,
}

/// Whether a file is a baseline file (its first KB names the baseline kind).
fn is_baseline_file(path: &Path) -> anyhow::Result<bool> {
    if path.extension().is_some_and(|e| e == "gz") {
        return Ok(false);
    }
    let mut head = vec![0u8; 4096];
    let mut f =
        std::fs::File::open(path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let n = f
        .read(&mut head)
        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    Ok(String::from_utf8_lossy(&head[..n]).contains(KIND))
}

/// Reads one side: a baseline file, or the events of a file matching `selector`.
pub fn read_side(path: &Path, selector: &Selector) -> anyhow::Result<Side> {
    if is_baseline_file(path)? {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        let b =
            Baseline::from_json(&text).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        let source = format!("baseline {} ({})", b.id, path.display());
        let version = b.version.clone();
        let mut services = ByService::new();
        services.insert(b.service.clone(), b.operations);
        return Ok(Side {
            services,
            source,
            version,
        });
    }
    let mut services = ByService::new();
    // The one version all events share, if they do (compared without allocating per event).
    let mut first: Option<Option<String>> = None;
    let mut mixed = false;
    event_file::for_each_ref(path, |e| {
        match &first {
            None => first = Some(e.version.as_deref().map(str::to_string)),
            Some(v) => mixed |= v.as_deref() != e.version.as_deref(),
        }
        collect_event_ref(e, selector, &mut services);
    })?;
    let version = selector
        .version
        .clone()
        .or_else(|| if mixed { None } else { first.flatten() });
    Ok(Side {
        services,
        source: path.display().to_string(),
        version,
    })
}

/// Operation → sample.
type Operations = BTreeMap<String, OperationSample>;

/// Picks the one service both sides are about; several without `--service` is bad input.
pub fn pick_service(
    a: &Side,
    b: &Side,
    wanted: Option<&str>,
) -> anyhow::Result<(String, Operations, Operations)> {
    let counts = |s: &Side| -> BTreeMap<String, u64> {
        s.services
            .iter()
            .map(|(k, ops)| (k.clone(), ops.values().map(|o| o.requests).sum()))
            .collect()
    };
    let service = match wanted {
        Some(s) => s.to_string(),
        None => {
            let mut all: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for (k, n) in counts(a) {
                all.entry(k).or_default().0 += n;
            }
            for (k, n) in counts(b) {
                all.entry(k).or_default().1 += n;
            }
            match all.len() {
                0 => String::new(),
                1 => all.into_keys().next().unwrap_or_default(),
                _ => {
                    let list: Vec<String> = all
                        .iter()
                        .map(|(k, (x, y))| format!("{k} ({x} baseline, {y} candidate requests)"))
                        .collect();
                    return Err(BadInput(format!(
                        "the files hold several services: {}; choose one with --service",
                        list.join(", ")
                    ))
                    .into());
                }
            }
        }
    };
    let take = |s: &Side| s.services.get(&service).cloned().unwrap_or_default();
    Ok((service.clone(), take(a), take(b)))
}

/// Runs the gate.
pub fn run(args: &GateArgs) -> anyhow::Result<i32> {
    let mut cfg = match &args.config {
        Some(p) => {
            Config::load(p)
                .map_err(|e| BadInput(format!("{}: {e}", p.display())))?
                .gates
        }
        None => GateConfig::default(),
    };
    if let Some(c) = args.confidence {
        cfg.confidence = c;
    }
    cfg.validate().map_err(|e| BadInput(e.to_string()))?;
    let sel = |version: &Option<String>| Selector {
        service: args.service.clone(),
        operation: args.operation.clone(),
        version: version.clone(),
    };
    let (bsel, csel) = (sel(&args.baseline_version), sel(&args.candidate_version));
    let (b, c) = std::thread::scope(|s| {
        let hb = s.spawn(|| read_side(&args.baseline, &bsel));
        let c = read_side(&args.candidate, &csel);
        (
            hb.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("reader panicked"))),
            c,
        )
    });
    let (b, c) = (b?, c?);
    let (service, bops, cops) = pick_service(&b, &c, args.service.as_deref())?;
    let outcome = evaluate(&bops, &cops, &cfg, None);
    let side = |s: &Side, ops: &BTreeMap<String, OperationSample>| SideInfo {
        source: s.source.clone(),
        version: s.version.clone(),
        requests: ops.values().map(|o| o.requests).sum(),
    };
    let report = GateReport {
        deployment: args
            .deployment
            .clone()
            .or_else(|| c.version.clone())
            .unwrap_or_else(|| args.candidate.display().to_string()),
        service,
        baseline: side(&b, &bops),
        candidate: side(&c, &cops),
        outcome,
    };
    match args.format {
        GateFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        GateFormat::Markdown => print!("{}", crate::gate_render::markdown(&report)),
        GateFormat::Table => println!("{}", crate::gate_render::table(&report)),
    }
    Ok(exit_code(report.outcome.recommendation, args.inconclusive))
}

/// Exit code of a recommendation.
pub fn exit_code(rec: Recommendation, inconclusive: Inconclusive) -> i32 {
    match rec {
        Recommendation::Proceed => OK,
        Recommendation::BlockDeployment => FAILURE,
        Recommendation::ManualReview | Recommendation::InsufficientData => match inconclusive {
            Inconclusive::Exit3 => INCONCLUSIVE,
            Inconclusive::Pass => OK,
            Inconclusive::Fail => FAILURE,
        },
    }
}
