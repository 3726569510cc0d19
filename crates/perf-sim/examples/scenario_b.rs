//! Runs scenario B once per strategy for a seed and prints the raw results (a development
//! aid; `ecosystem-perf simulate overload` prints the tables).
fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for s in perf_sim::des::overload_sim::Strategy::ALL {
        let t = std::time::Instant::now();
        let r = perf_sim::des::overload_sim::run(s, seed);
        println!("{r:?} in {:.1} s", t.elapsed().as_secs_f64());
    }
}
