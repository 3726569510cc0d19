//! Fuzz target: `perf_fuzz::slo_documents`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| perf_fuzz::slo_documents(data));
