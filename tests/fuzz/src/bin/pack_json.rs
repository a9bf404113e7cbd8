//! AFL++ target: [`packpub::fuzz_targets::pack_json`].
packpub_fuzz::target!(packpub::fuzz_targets::pack_json);
