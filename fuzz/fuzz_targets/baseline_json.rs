//! Fuzz target: `perf_fuzz::baseline_json`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| perf_fuzz::baseline_json(data));
