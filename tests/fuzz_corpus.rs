//! Replays the committed fuzz corpora (tests/fuzz/corpus) through the fuzz targets.
