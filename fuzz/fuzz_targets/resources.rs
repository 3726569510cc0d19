//! Fuzz target: `perf_fuzz::resources`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| perf_fuzz::resources(data));
