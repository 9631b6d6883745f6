#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| yew_convex_fuzz::client_message(data));
