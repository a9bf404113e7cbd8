//! AFL++ target: [`packpub::fuzz_targets::scan_tar`].
packpub_fuzz::target!(packpub::fuzz_targets::scan_tar);
