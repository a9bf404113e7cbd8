//! AFL++ target: [`packpub::fuzz_targets::challenge`].
packpub_fuzz::target!(packpub::fuzz_targets::challenge);
