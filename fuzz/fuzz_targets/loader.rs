#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ipcemu_fuzz::loader(data));
