//! cargo-fuzz target; the body is `isthmus::fuzzing::sealed` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| isthmus::fuzzing::sealed(data));
