//! AFL++ target: [`packpub::fuzz_targets::scan`].
packpub_fuzz::target!(packpub::fuzz_targets::scan);
