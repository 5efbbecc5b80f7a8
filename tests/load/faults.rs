//! Faults confined to the channel they hit.
