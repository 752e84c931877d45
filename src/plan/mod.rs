//! Planning what is sent: dedup, prefix order for the implicit cache, token counts, the cache
//! simulation, and sharding.
