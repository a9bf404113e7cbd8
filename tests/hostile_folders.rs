//! Hostile pack folders (issue 9): special files, YAML alias bombs, swapped files, link
//! fan-out and links that reach ignored paths.
