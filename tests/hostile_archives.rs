//! Hostile archives (issue 9): crafted tarballs pushed by a peer or placed in a layout must
//! never fool `verify`, `pull` or `push`, nor exhaust the machine.
