//! A map from increasing ids to values: a sorted `Vec`, because ids are handed out in increasing
//! order (so inserts are pushes) and the maps are small. One generic `Vec` instead of a
//! `BTreeMap` instantiation per value type (each ~5 KB of wasm).

/// Ids to values, in id order.
#[derive(Debug, Clone)]
pub(crate) struct IdMap<V> {
    entries: Vec<(u32, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<V> IdMap<V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn find(&self, id: &u32) -> Result<usize, usize> {
        self.entries.binary_search_by_key(id, |(k, _)| *k)
    }

    pub(crate) fn insert(&mut self, id: u32, value: V) -> Option<V> {
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

    pub(crate) fn get(&self, id: &u32) -> Option<&V> {
        self.find(id).ok().map(|i| &self.entries[i].1)
    }

    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut V> {
        self.find(id).ok().map(|i| &mut self.entries[i].1)
    }

    pub(crate) fn contains_key(&self, id: &u32) -> bool {
        self.find(id).is_ok()
    }

    pub(crate) fn remove(&mut self, id: &u32) -> Option<V> {
        self.find(id).ok().map(|i| self.entries.remove(i).1)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u32, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &u32> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl<V> IntoIterator for IdMap<V> {
    type Item = (u32, V);
    type IntoIter = std::vec::IntoIter<(u32, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// A set of ids in id order (the ids a Transition changed): a sorted `Vec`.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdSet(Vec<u32>);

impl IdSet {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, id: u32) -> bool {
        match self.0.binary_search(&id) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, id);
                true
            }
        }
    }
}

impl IntoIterator for IdSet {
    type Item = u32;
    type IntoIter = std::vec::IntoIter<u32>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
