//! Memory accounting: the heap bytes each component holds, computed from the lengths and
//! capacities of its containers (not sampled from the allocator), so `/metrics` and `status`
//! can say where the memory goes and a test can hold the sum against a counting allocator.
//!
//! The helpers estimate what the standard containers allocate: a `Vec`/`VecDeque` holds
//! `capacity × size_of::<T>()`; a hash map holds a power-of-two number of buckets (at most
//! 7/8 full) of `size_of::<(K, V)>()` plus one control byte each (hashbrown's layout); a
//! B-tree holds its entries in nodes of up to 11, about two-thirds full, each node also
//! carrying a small header. Written by hand rather than with `get-size2`: most of the bytes
//! sit in a handful of containers whose element sizes we know, and the derive would have to
//! reach every type of the engine and the control layer (including `ahash` maps it has no
//! impl for).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::mem::size_of;

/// Bytes of heap one component holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Part {
    /// Component name, e.g. `views_10s`, `slo_counters`.
    pub component: String,
    /// Heap bytes.
    pub bytes: u64,
}

impl Part {
    /// A part.
    pub fn new(component: impl Into<String>, bytes: usize) -> Part {
        Part {
            component: component.into(),
            bytes: bytes as u64,
        }
    }
}

/// Heap bytes of a vector's buffer (not of what its elements own).
pub fn vec<T>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>()
}

/// Heap bytes of a deque's buffer.
pub fn deque<T>(v: &VecDeque<T>) -> usize {
    v.capacity() * size_of::<T>()
}

/// Heap bytes of a string.
pub fn string(s: &str) -> usize {
    s.len()
}

/// Buckets a hash map with this capacity has allocated (hashbrown: a power of two, at most
/// 7/8 full; 4 or 8 for tiny maps).
fn hash_buckets(capacity: usize) -> usize {
    match capacity {
        0 => 0,
        1..=3 => 4,
        4..=7 => 8,
        c => (c * 8 / 7).next_power_of_two(),
    }
}

/// Heap bytes of a hash map's table (not of what its keys and values own).
pub fn hash_map<K, V, S: BuildHasher>(m: &HashMap<K, V, S>) -> usize {
    let buckets = hash_buckets(m.capacity());
    if buckets == 0 {
        0
    } else {
        buckets * (size_of::<(K, V)>() + 1) + 16
    }
}

/// Nodes of a B-tree with `n` entries: one leaf up to 11, then about two-thirds full.
fn btree_nodes(n: usize) -> usize {
    match n {
        0 => 0,
        1..=11 => 1,
        n => n.div_ceil(7),
    }
}

/// Heap bytes of a B-tree map's nodes (not of what its keys and values own): nodes of up
/// to 11 entries (about two-thirds full past the first), with a 16-byte header and child pointers in
/// internal nodes.
pub fn btree_map<K, V>(m: &BTreeMap<K, V>) -> usize {
    let n = m.len();
    btree_nodes(n) * (11 * (size_of::<K>() + size_of::<V>()) + 16 + 8)
}

/// Heap bytes of a B-tree set's nodes (as [`btree_map`] with no values).
pub fn btree_set<K>(s: &std::collections::BTreeSet<K>) -> usize {
    let n = s.len();
    btree_nodes(n) * (11 * size_of::<K>() + 16 + 8)
}

/// Heap bytes of a JSON value (strings, arrays and objects, recursively; an object is a
/// B-tree of `String` keys).
pub fn json(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => vec(a) + a.iter().map(json).sum::<usize>(),
        Value::Object(m) => {
            btree_nodes(m.len()) * (11 * (size_of::<String>() + size_of::<Value>()) + 24)
                + m.iter().map(|(k, v)| k.len() + json(v)).sum::<usize>()
        }
        _ => 0,
    }
}

/// The sum of parts, in bytes.
pub fn total(parts: &[Part]) -> u64 {
    parts.iter().map(|p| p.bytes).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_map_table_is_a_power_of_two_of_entries_plus_control_bytes() {
        let mut m: HashMap<u64, u64> = HashMap::new();
        assert_eq!(hash_map(&m), 0);
        for i in 0..100 {
            m.insert(i, i);
        }
        // 100 entries need 128 buckets (at most 7/8 full): 128 × (16 + 1) + 16.
        assert_eq!(hash_map(&m), 128 * 17 + 16);
    }

    #[test]
    fn a_vector_counts_its_capacity_not_its_length() {
        let v: Vec<u32> = Vec::with_capacity(10);
        assert_eq!(vec(&v), 40);
    }
}
