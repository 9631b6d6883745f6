//! Scroll positions by history entry, for scroll restoration: back/forward (and a reload of
//! the same entry) return to where the reader was; a new navigation starts at the top or at
//! its `#hash`. The store is bounded and serializes to JSON (the browser keeps it in
//! `sessionStorage`, so it survives a reload).

use std::collections::VecDeque;

/// How many history entries keep a position.
pub const MAX_ENTRIES: usize = 100;

/// Where to scroll after a navigation.
#[derive(Debug, Clone, PartialEq)]
pub enum ScrollTarget {
    /// To this position (a history entry visited before).
    Position(f64, f64),
    /// To the element with this id (a new navigation with a `#hash`).
    Anchor(String),
    /// To the top (a new navigation).
    Top,
}

/// Positions by history-entry key, the most recently saved last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScrollStore {
    entries: VecDeque<(String, f64, f64)>,
}

impl ScrollStore {
    /// Remembers the position of entry `key`.
    pub fn save(&mut self, key: &str, x: f64, y: f64) {
        self.entries.retain(|(k, _, _)| k != key);
        self.entries.push_back((key.to_string(), x, y));
        while self.entries.len() > MAX_ENTRIES {
            self.entries.pop_front();
        }
    }

    /// The position of entry `key`, if saved.
    pub fn get(&self, key: &str) -> Option<(f64, f64)> {
        self.entries.iter().rev().find(|(k, _, _)| k == key).map(|(_, x, y)| (*x, *y))
    }

    /// Where to go: a known entry returns to its position; a new one goes to its anchor or top.
    pub fn target(&self, key: Option<&str>, hash: &str) -> ScrollTarget {
        if let Some((x, y)) = key.and_then(|k| self.get(k)) {
            return ScrollTarget::Position(x, y);
        }
        match hash.trim_start_matches('#') {
            "" => ScrollTarget::Top,
            anchor => ScrollTarget::Anchor(anchor.to_string()),
        }
    }

    /// The store as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.entries).unwrap_or_else(|_| "[]".into())
    }

    /// A store from [`ScrollStore::to_json`]'s output (anything else: empty).
    pub fn from_json(json: &str) -> Self {
        let entries = crate::value::RawValue::from_json(json).and_then(|raw| raw.deserialize());
        Self { entries: entries.unwrap_or_default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_kept_by_entry_bounded_and_survive_a_round_trip() {
        let mut store = ScrollStore::default();
        store.save("a", 0.0, 1200.0);
        store.save("b", 0.0, 10.0);
        store.save("a", 0.0, 1300.0);
        assert_eq!(store.target(Some("a"), ""), ScrollTarget::Position(0.0, 1300.0));
        assert_eq!(store.target(Some("new"), ""), ScrollTarget::Top);
        assert_eq!(store.target(None, "#comments"), ScrollTarget::Anchor("comments".into()));
        let restored = ScrollStore::from_json(&store.to_json());
        assert_eq!(restored, store);
        assert_eq!(ScrollStore::from_json("garbage"), ScrollStore::default());
        for i in 0..(MAX_ENTRIES + 10) {
            store.save(&format!("k{i}"), 0.0, i as f64);
        }
        assert_eq!(store.get("a"), None, "the oldest go first");
        assert_eq!(
            store.get(&format!("k{}", MAX_ENTRIES + 9)),
            Some((0.0, (MAX_ENTRIES + 9) as f64))
        );
    }
}
