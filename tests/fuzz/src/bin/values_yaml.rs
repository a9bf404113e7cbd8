//! AFL++ target: [`packpub::fuzz_targets::values_yaml`].
packpub_fuzz::target!(packpub::fuzz_targets::values_yaml);
