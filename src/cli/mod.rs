//! Command-line front ends: flag parsing, exit codes, progress and logging.
