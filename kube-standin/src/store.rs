//! The in-memory object store: objects by resource/namespace/name, one global resourceVersion
//! counter (like etcd's revision), and the event log that watches replay and follow.
//!
//! All writes go through [`Store::write`], which assigns the next resourceVersion, records the
//! event in a bounded log and broadcasts it. Watchers subscribe under the same lock that appends
//! to the log, so a watch started "after RV N" neither misses nor repeats an event.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::resources::ResourceDef;

/// How many events the log keeps for watches that resume from a resourceVersion; older ones
/// answer 410 Expired, as etcd compaction does.
pub const EVENT_LOG_CAPACITY: usize = 20_000;

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to the store.
#[derive(Debug, Clone)]
pub struct Event {
    /// resourceVersion assigned by this change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// Resource group.
    pub group: &'static str,
    /// Resource plural.
    pub plural: &'static str,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object after the change (for Deleted: the last state, with the deletion's RV).
    pub object: Value,
    /// The object before the change, if any (lets watches with selectors turn transitions
    /// into ADDED/DELETED).
    pub old: Option<Value>,
}

/// Key of an object: group, plural, namespace, name (so iteration is sorted the way lists are).
pub type Key = (&'static str, &'static str, String, String);

/// Events newer than a resourceVersion, the current resourceVersion, and a receiver for
/// everything after it.
pub type Follow = (Vec<Arc<Event>>, u64, broadcast::Receiver<Arc<Event>>);

struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    log: VecDeque<Arc<Event>>,
    /// Lowest resourceVersion a watch may resume from (events after it are all in the log).
    compacted: u64,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
}

/// A change to apply in [`Store::write`].
#[derive(Debug)]
pub enum Write {
    /// Insert a new object (fails if it exists).
    Create(Value),
    /// Replace an existing object.
    Update(Value),
    /// Remove an object.
    Delete,
}

/// Why a write failed at the store level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// Create of an existing key.
    Exists,
    /// Update or delete of a missing key.
    Missing,
    /// `metadata.resourceVersion` precondition did not match.
    Conflict,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// The namespace and name of an object from its metadata.
pub fn object_key(res: &ResourceDef, obj: &Value) -> Key {
    let ns = if res.namespaced {
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string()
    } else {
        String::new()
    };
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    (res.group, res.plural, ns, name)
}

impl Store {
    /// An empty store; the first write gets resourceVersion 2 (1 is "the beginning").
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(4096);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                log: VecDeque::new(),
                compacted: 1,
            }),
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written (all mutations are
        // single inserts/removes), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current resourceVersion (of the latest write).
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// The lowest resourceVersion a watch can resume from.
    pub fn compacted_rv(&self) -> u64 {
        self.lock().compacted
    }

    /// Drop the event log so far: watches can resume only from the current resourceVersion on,
    /// like a kube-apiserver whose watch cache starts from a LIST at startup (so a watch from
    /// resourceVersion "1" gets `410 Expired: too old resource version: 1 (N)`).
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.log.clear();
        inner.compacted = inner.rv;
    }

    /// One object.
    pub fn get(&self, res: &ResourceDef, namespace: &str, name: &str) -> Option<Value> {
        let key = (
            res.group,
            res.plural,
            namespace.to_string(),
            name.to_string(),
        );
        self.lock().objects.get(&key).cloned()
    }

    /// All objects of a resource, in one namespace or all (`None`), sorted by namespace then
    /// name, with the resourceVersion the snapshot was taken at.
    pub fn list(&self, res: &ResourceDef, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        (snapshot(&inner, res, namespace), inner.rv)
    }

    /// All objects of every stored kind in a namespace (for namespace deletion and GC).
    pub fn all(&self) -> Vec<(Key, Value)> {
        self.lock()
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Apply one change: assigns the next resourceVersion, stores it in the object, appends to
    /// the event log and broadcasts. `expected_rv`, when set, must equal the stored object's.
    pub fn write(
        &self,
        res: &'static ResourceDef,
        namespace: &str,
        name: &str,
        change: Write,
        expected_rv: Option<&str>,
    ) -> Result<Value, WriteError> {
        let mut inner = self.lock();
        let key: Key = (
            res.group,
            res.plural,
            namespace.to_string(),
            name.to_string(),
        );
        let old = inner.objects.get(&key).cloned();
        if let (Some(expected), Some(old)) = (expected_rv, &old) {
            if old["metadata"]["resourceVersion"].as_str() != Some(expected) {
                return Err(WriteError::Conflict);
            }
        }
        let next = inner.rv + 1;
        let (kind, mut object) = match change {
            Write::Create(obj) => {
                if old.is_some() {
                    return Err(WriteError::Exists);
                }
                (EventType::Added, obj)
            }
            Write::Update(obj) => {
                if old.is_none() {
                    return Err(WriteError::Missing);
                }
                (EventType::Modified, obj)
            }
            Write::Delete => match &old {
                Some(o) => (EventType::Deleted, o.clone()),
                None => return Err(WriteError::Missing),
            },
        };
        set_rv(&mut object, next);
        inner.rv = next;
        match kind {
            EventType::Deleted => {
                inner.objects.remove(&key);
            }
            _ => {
                inner.objects.insert(key.clone(), object.clone());
            }
        }
        let event = Arc::new(Event {
            rv: next,
            kind,
            group: res.group,
            plural: res.plural,
            namespace: key.2,
            name: key.3,
            object: object.clone(),
            old,
        });
        inner.log.push_back(event.clone());
        if inner.log.len() > EVENT_LOG_CAPACITY {
            if let Some(dropped) = inner.log.pop_front() {
                inner.compacted = dropped.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
        Ok(object)
    }

    /// Start following changes after `since`: returns the logged events newer than `since` and
    /// the current resourceVersion and a receiver for everything after it, or `None` when `since` is older than the log.
    pub fn follow(&self, since: u64) -> Option<Follow> {
        let inner = self.lock();
        if since < inner.compacted {
            return None;
        }
        let backlog = inner.log.iter().filter(|e| e.rv > since).cloned().collect();
        Some((backlog, inner.rv, self.events.subscribe()))
    }

    /// A snapshot of a resource (as [`Store::list`]) and a receiver for the changes after it,
    /// taken atomically.
    pub fn list_and_follow(
        &self,
        res: &ResourceDef,
        namespace: Option<&str>,
    ) -> (Vec<Value>, u64, broadcast::Receiver<Arc<Event>>) {
        let inner = self.lock();
        (
            snapshot(&inner, res, namespace),
            inner.rv,
            self.events.subscribe(),
        )
    }

    /// A receiver for all future events (controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }
}

/// The objects of `res` (in `namespace`, or all), sorted, under the caller's lock.
fn snapshot(inner: &Inner, res: &ResourceDef, namespace: Option<&str>) -> Vec<Value> {
    inner
        .objects
        .range(range_for(res, namespace))
        .filter(|(k, _)| namespace.is_none_or(|ns| k.2 == ns))
        .map(|(_, v)| v.clone())
        .collect()
}

fn range_for(res: &ResourceDef, namespace: Option<&str>) -> std::ops::RangeInclusive<Key> {
    let ns_lo = namespace.unwrap_or("").to_string();
    let ns_hi = namespace
        .map(str::to_string)
        .unwrap_or_else(|| "\u{10FFFF}".to_string());
    (res.group, res.plural, ns_lo, String::new())
        ..=(res.group, res.plural, ns_hi, "\u{10FFFF}".to_string())
}

fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata") {
        let fresh = meta.get("resourceVersion").is_none();
        meta["resourceVersion"] = json!(rv.to_string());
        // A new key lands last; ObjectMeta puts it right after `uid`.
        if fresh {
            crate::proto::order_keys_as(meta, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    fn cm(ns: &str, name: &str) -> Value {
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": name, "namespace": ns}})
    }

    #[test]
    fn write_assigns_increasing_rvs_and_lists_sorted() {
        let s = Store::new();
        let res = find("", "v1", "configmaps").expect("configmaps");
        let a = s
            .write(res, "b", "z", Write::Create(cm("b", "z")), None)
            .expect("create");
        let b = s
            .write(res, "a", "y", Write::Create(cm("a", "y")), None)
            .expect("create");
        assert_eq!(a["metadata"]["resourceVersion"], "2");
        assert_eq!(b["metadata"]["resourceVersion"], "3");
        let (all, rv) = s.list(res, None);
        assert_eq!(rv, 3);
        let names: Vec<_> = all.iter().map(|o| o["metadata"]["name"].clone()).collect();
        assert_eq!(names, vec![json!("y"), json!("z")]);
        assert_eq!(s.list(res, Some("b")).0.len(), 1);
        assert_eq!(s.list(res, Some("c")).0.len(), 0);
        assert_eq!(
            s.write(res, "a", "y", Write::Create(cm("a", "y")), None)
                .err(),
            Some(WriteError::Exists)
        );
        assert_eq!(
            s.write(res, "a", "y", Write::Update(cm("a", "y")), Some("2"))
                .err(),
            Some(WriteError::Conflict)
        );
    }

    #[test]
    fn compact_expires_older_resource_versions() {
        let s = Store::new();
        let res = find("", "v1", "configmaps").expect("configmaps");
        for name in ["a", "b"] {
            s.write(res, "ns", name, Write::Create(cm("ns", name)), None)
                .expect("create");
        }
        assert!(
            s.follow(1).is_some(),
            "before compaction the whole log replays"
        );
        s.compact();
        assert_eq!(s.compacted_rv(), 3);
        assert!(s.follow(1).is_none(), "RV 1 is too old after compaction");
        assert!(s.follow(2).is_none(), "RV 2 is too old after compaction");
        let (backlog, current, _) = s.follow(3).expect("the current RV can be followed");
        assert!(backlog.is_empty());
        assert_eq!(current, 3);
    }

    #[test]
    fn follow_replays_backlog_after_rv() {
        let s = Store::new();
        let res = find("", "v1", "configmaps").expect("configmaps");
        s.write(res, "a", "x", Write::Create(cm("a", "x")), None)
            .expect("create");
        s.write(res, "a", "x", Write::Update(cm("a", "x")), None)
            .expect("update");
        s.write(res, "a", "x", Write::Delete, None).expect("delete");
        let (backlog, _, _) = s.follow(2).expect("in log");
        let kinds: Vec<_> = backlog.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventType::Modified, EventType::Deleted]);
        assert_eq!(backlog[1].object["metadata"]["resourceVersion"], "4");
    }
}
