//! AFL++ target: [`packpub::fuzz_targets::reference`].
packpub_fuzz::target!(packpub::fuzz_targets::reference);
