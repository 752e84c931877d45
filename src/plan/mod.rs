//! Planning what is sent: dedup, prefix order for the implicit cache, token counts, the cache
//! simulation, and sharding.

pub mod cache;
pub mod dedup;
pub mod order;
pub mod prehashed;
pub mod scan;
pub mod shard;
pub mod tokens;
