//! Fuzz target: `perf_fuzz::log_segment`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| perf_fuzz::log_segment(data));
