//! A map from increasing ids to values: a sorted `Vec`, because ids are handed out in increasing
//! order (so inserts are pushes) and the maps are small. One generic `Vec` instead of a
//! `BTreeMap` instantiation per value type (each ~5 KB of wasm).

use super::ids::DenseId;

/// Ids to values, in id order.
#[derive(Debug, Clone)]
pub(crate) struct IdMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for IdMap<K, V> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<K: DenseId, V> IdMap<K, V> {
    fn find(&self, id: &K) -> Result<usize, usize> {
        self.entries.binary_search_by_key(id, |(k, _)| *k)
    }

    pub(crate) fn insert(&mut self, id: K, value: V) -> Option<V> {
        if self.entries.last().is_none_or(|(last, _)| *last < id) {
            self.entries.push((id, value));
            return None;
        }
        match self.find(&id) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (id, value));
                None
            }
        }
    }

    pub(crate) fn get(&self, id: &K) -> Option<&V> {
        self.find(id).ok().map(|i| &self.entries[i].1)
    }

    pub(crate) fn get_mut(&mut self, id: &K) -> Option<&mut V> {
        self.find(id).ok().map(|i| &mut self.entries[i].1)
    }

    pub(crate) fn contains_key(&self, id: &K) -> bool {
        self.find(id).is_ok()
    }

    pub(crate) fn remove(&mut self, id: &K) -> Option<V> {
        self.find(id).ok().map(|i| self.entries.remove(i).1)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl<K, V> IntoIterator for IdMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// A set of ids in id order (the ids a Transition changed): a sorted `Vec`.
#[derive(Debug, Clone)]
pub(crate) struct IdSet<K>(Vec<K>);

impl<K> Default for IdSet<K> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K: DenseId> IdSet<K> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, id: K) -> bool {
        match self.0.binary_search(&id) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, id);
                true
            }
        }
    }
}

impl<K> IntoIterator for IdSet<K> {
    type Item = K;
    type IntoIter = std::vec::IntoIter<K>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
