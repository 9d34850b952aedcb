//! cargo-fuzz target; the body is `isthmus::fuzzing::witness_request` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| isthmus::fuzzing::witness_request(data));
