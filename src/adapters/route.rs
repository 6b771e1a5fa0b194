//! The route table: which user-key prefix belongs to which adapter, under which family name
//! (what `inspect` tallies), with which handler tag (what the adapter dispatches on).
//! Matched longest prefix first (s3_tree_pipeline.md §10.3, containers.md §5).
//!
//! Each adapter spells its prefixes once, in its `keys.rs`; the registry
//! ([`Adapter::routes`]) gathers them, and this module adds elastickv's own internal
//! families, which no adapter owns.

use std::sync::OnceLock;

use super::Adapter;

/// One prefix of an adapter's key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The user-key prefix (every prefix starts with `!`).
    pub prefix: &'static [u8],
    /// The family name `inspect` reports the key under.
    pub family: &'static str,
    /// The adapter's own handler tag: a record arrives with it, so the adapter dispatches
    /// with one `match`, not a second prefix chain.
    pub tag: u8,
}

impl Route {
    /// A route (for the `ROUTES` tables of the adapters' `keys.rs`).
    pub const fn new(prefix: &'static [u8], family: &'static str, tag: u8) -> Route {
        Route { prefix, family, tag }
    }
}

/// The family of elastickv's own keys (transactions, routing catalog, encryption registry).
pub const INTERNAL: &str = "internal";
/// The family of keys no prefix matches.
pub const UNKNOWN: &str = "unknown";

/// Prefixes owned by elastickv itself, not by an adapter. The Redis EXEC read fences
/// (`adapter/redis_txn.go`) are persisted: a live node's snapshot holds one per key a
/// transaction touched (DECISIONS.md A10).
const INTERNAL_ROUTES: &[Route] = &[
    Route::new(b"!txn|", INTERNAL, 0),
    Route::new(b"!dist|", INTERNAL, 0),
    Route::new(b"!encryption|", INTERNAL, 0),
    Route::new(b"!redis|txn-wide-", INTERNAL, 0),
    Route::new(b"!redis|read-fence-route-changed", INTERNAL, 0),
];

/// A route with its owner and the index of its family in [`families`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteEntry {
    /// The matched route.
    pub route: Route,
    /// `None` for elastickv's internal families.
    pub adapter: Option<Adapter>,
    /// Index into [`families`].
    pub family: usize,
}

struct Table {
    /// Longest prefix first (stable for equal lengths).
    entries: Vec<RouteEntry>,
    /// Per byte after `!`, the indexes of its entries, longest prefix first.
    buckets: Vec<Vec<usize>>,
    /// Per entry: whether a longer prefix of the table starts with its prefix.
    extended: Vec<bool>,
    /// Family names in registry order, then `internal` and `unknown`.
    families: Vec<&'static str>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut families: Vec<&'static str> = Vec::new();
        let mut family_index = |name: &'static str| match families.iter().position(|f| *f == name) {
            Some(i) => i,
            None => {
                families.push(name);
                families.len() - 1
            }
        };
        let owned = Adapter::ALL
            .into_iter()
            .flat_map(|a| a.routes().iter().map(move |r| (*r, Some(a))));
        let internal = INTERNAL_ROUTES.iter().map(|r| (*r, None));
        let mut entries: Vec<RouteEntry> = owned
            .chain(internal)
            .map(|(route, adapter)| RouteEntry {
                route,
                adapter,
                family: family_index(route.family),
            })
            .collect();
        family_index(INTERNAL);
        family_index(UNKNOWN);
        entries.sort_by_key(|e| std::cmp::Reverse(e.route.prefix.len()));
        let mut buckets = vec![Vec::new(); 256];
        for (i, e) in entries.iter().enumerate() {
            if let Some(&c) = e.route.prefix.get(1) {
                buckets[usize::from(c)].push(i);
            }
        }
        let extended = entries
            .iter()
            .map(|a| {
                entries.iter().any(|b| {
                    b.route.prefix.len() > a.route.prefix.len() && b.route.prefix.starts_with(a.route.prefix)
                })
            })
            .collect();
        Table {
            entries,
            buckets,
            extended,
            families,
        }
    })
}

/// The whole route table, longest prefix first.
#[cfg(test)]
pub fn routes() -> &'static [RouteEntry] {
    &table().entries
}

/// Every family name, in report order: the adapters' in registry order, then `internal` and
/// `unknown`.
pub fn families() -> &'static [&'static str] {
    &table().families
}

/// The index of a family name in [`families`].
pub fn family_index(name: &str) -> Option<usize> {
    families().iter().position(|f| *f == name)
}

fn lookup(user_key: &[u8]) -> Option<usize> {
    let t = table();
    match user_key {
        [b'!', c, ..] => t.buckets[usize::from(*c)]
            .iter()
            .copied()
            .find(|&i| user_key.starts_with(t.entries[i].route.prefix)),
        _ => None,
    }
}

/// The route of a user key: the longest matching prefix, or `None` (an unknown key).
pub fn route(user_key: &[u8]) -> Option<&'static RouteEntry> {
    lookup(user_key).map(|i| &table().entries[i])
}

/// Route lookups over a sorted stream: consecutive keys nearly always share their route, so
/// the previous route is tried first. A hit is conclusive only for a route that no longer
/// prefix extends (e.g. `!hs|meta|` is extended by `!hs|meta|d|`): only such a route is kept
/// for the next key; otherwise, and on a miss, the table is searched.
#[derive(Debug, Default)]
pub struct Router {
    last: Option<&'static RouteEntry>,
}

impl Router {
    /// The route of `user_key` (as [`route`]).
    #[inline]
    pub fn route(&mut self, user_key: &[u8]) -> Option<&'static RouteEntry> {
        match self.last {
            Some(last) if user_key.starts_with(last.route.prefix) => Some(last),
            _ => self.search(user_key),
        }
    }

    fn search(&mut self, user_key: &[u8]) -> Option<&'static RouteEntry> {
        let t = table();
        let i = lookup(user_key)?;
        self.last = (!t.extended[i]).then(|| &t.entries[i]);
        Some(&t.entries[i])
    }

    /// The family index of a user key ([`families`]; `unknown` when no prefix matches).
    #[inline]
    pub fn family(&mut self, user_key: &[u8]) -> usize {
        match self.route(user_key) {
            Some(e) => e.family,
            None => families().len() - 1,
        }
    }
}

/// The family name of a user key (`unknown` when no prefix matches).
#[cfg(test)]
pub fn family_of(user_key: &[u8]) -> &'static str {
    route(user_key).map_or(UNKNOWN, |e| e.route.family)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::display_key;

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(family_of(b"!hs|meta|d|\0\0\0\x01k"), "redis_hash");
        assert_eq!(
            route(b"!hs|meta|d|\0\0\0\x01k").unwrap().route.prefix,
            b"!hs|meta|d|"
        );
        assert_eq!(route(b"!hs|meta|\0\0\0\x01k").unwrap().route.prefix, b"!hs|meta|");
        assert_eq!(family_of(b"!s3|bucket|meta|b"), "s3");
        assert_eq!(family_of(b"!txn|lock|x"), INTERNAL);
        assert_eq!(family_of(b"!redis|txn-wide-hash|\0\0\0\x01k"), INTERNAL);
        assert_eq!(route(b"!txn|lock|x").unwrap().adapter, None);
        assert_eq!(family_of(b"plain"), UNKNOWN);
        assert_eq!(family_of(b"!redis|hash|legacy"), UNKNOWN);
        let t = routes();
        assert!(t
            .windows(2)
            .all(|w| w[0].route.prefix.len() >= w[1].route.prefix.len()));
        assert!(t
            .iter()
            .all(|e| e.route.prefix.len() >= 2 && e.route.prefix[0] == b'!'));
        // Every prefix is spelled once.
        for (i, a) in t.iter().enumerate() {
            assert!(t[i + 1..].iter().all(|b| b.route.prefix != a.route.prefix));
        }
        // The bucketed lookup agrees with a scan of the whole table.
        for e in t {
            let mut k = e.route.prefix.to_vec();
            k.extend_from_slice(b"key");
            let scan = t.iter().find(|x| k.starts_with(x.route.prefix));
            assert_eq!(route(&k), scan);
        }
        assert_eq!(route(b"!"), None);
        assert_eq!(route(b""), None);
    }

    #[test]
    fn the_router_shortcut_never_changes_an_answer() {
        let keys: Vec<&[u8]> = vec![
            b"!hs|meta|\0\0\0\x01k",
            b"!hs|meta|d|\0\0\0\x01k",
            b"!hs|meta|\0\0\0\x01k",
            b"!redis|str|a",
            b"!redis|str|b",
            b"plain",
            b"!s3|bucket|gen|b",
            b"!s3|bucket|meta|b",
        ];
        let mut router = Router::default();
        for k in keys.iter().chain(keys.iter().rev()) {
            assert_eq!(router.route(k), route(k), "{}", display_key(k));
            assert_eq!(families()[router.family(k)], family_of(k));
        }
    }

    #[test]
    fn families_end_with_internal_and_unknown() {
        let f = families();
        assert_eq!(&f[f.len() - 2..], &[INTERNAL, UNKNOWN]);
        assert_eq!(f[0], "redis_string");
        for e in routes() {
            assert_eq!(f[e.family], e.route.family);
        }
    }
}
