//! Internal key and value layouts of the Redis families (redis.md §2).

use crate::adapters::{Family, Route};

const fn r(prefix: &'static [u8], family: Family) -> Route {
    Route { prefix, family }
}

/// The Redis prefixes of the route table (redis.md §3).
pub const ROUTES: &[Route] = &[
    r(b"!hs|meta|d|", Family::RedisHash),
    r(b"!hs|meta|", Family::RedisHash),
    r(b"!hs|fld|", Family::RedisHash),
    r(b"!lst|meta|d|", Family::RedisList),
    r(b"!lst|meta|", Family::RedisList),
    r(b"!lst|itm|", Family::RedisList),
    r(b"!lst|claim|", Family::RedisList),
    r(b"!st|meta|d|", Family::RedisSet),
    r(b"!st|meta|", Family::RedisSet),
    r(b"!st|mem|", Family::RedisSet),
    r(b"!zs|meta|d|", Family::RedisZset),
    r(b"!zs|meta|", Family::RedisZset),
    r(b"!zs|mem|", Family::RedisZset),
    r(b"!zs|scr|", Family::RedisZset),
    r(b"!redis|zset|", Family::RedisZset),
    r(b"!stream|meta|", Family::RedisStream),
    r(b"!stream|entry|", Family::RedisStream),
    r(b"!redis|str|", Family::RedisString),
    r(b"!redis|hll|", Family::RedisHll),
    r(b"!redis|ttl|", Family::RedisTtl),
];
