//! External sort of byte records under a memory budget, spilling sorted runs to temporary
//! files and merging them. Used by the encoder (records sorted by encoded key) and by
//! CHECKSUMS (lines sorted by path). Knows no format.
