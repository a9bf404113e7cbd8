//! Hostile registries and layouts (issue 9): malformed digests, oversized answers, endless
//! paging, credentials sent where they do not belong.
