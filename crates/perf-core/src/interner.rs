//! String interning for dimension values, so that series keys are small integer arrays and
//! an event is hashed once per dimension, not once per view. Only values of admitted series
//! are interned, so the table is bounded by the series limits.

use ahash::AHashMap;
use serde::{Deserialize, Serialize};

/// Interned strings, each with a stable `u32` id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Interner {
    ids: AHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl From<Vec<String>> for Interner {
    fn from(names: Vec<String>) -> Self {
        let mut i = Interner::default();
        for n in names {
            i.intern(&n);
        }
        i
    }
}

impl From<Interner> for Vec<String> {
    fn from(i: Interner) -> Self {
        i.names.into_iter().map(String::from).collect()
    }
}

impl Interner {
    /// Heap bytes: the lookup table, the list of names and each name (held twice).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_map, string, vec};
        hash_map(&self.ids)
            + vec(&self.names)
            + 2 * self.names.iter().map(|n| string(n)).sum::<usize>()
    }

    /// The id of `s`, if interned.
    #[inline]
    pub fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    /// The id of `s`, interning it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The string of an id.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map(|s| &**s).unwrap_or("")
    }

    /// Number of interned strings.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
