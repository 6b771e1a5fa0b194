//! The logical view of an EKVPBBL1 stream: the newest version of each user key, with
//! tombstoned keys removed (DECISIONS.md D1), and raw non-MVCC rows surfaced (D3).
