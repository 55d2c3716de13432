//! TODO(selectors) stub until the real module lands.
use crate::resources::ResourceDef;
use crate::status::ApiError;
/// Stub.
#[derive(Debug, Clone, Default)]
pub struct LabelSelector {
    terms: Vec<(String, String)>,
}
impl LabelSelector {
    /// Stub.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        Ok(Self {
            terms: s
                .split(',')
                .filter(|t| !t.is_empty())
                .filter_map(|t| {
                    t.split_once('=')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                })
                .collect(),
        })
    }
    /// Stub.
    pub fn matches(&self, labels: Option<&serde_json::Map<String, serde_json::Value>>) -> bool {
        self.terms.iter().all(|(k, v)| {
            labels.and_then(|l| l.get(k)).and_then(|x| x.as_str()) == Some(v.as_str())
        })
    }
    /// Stub.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}
/// Stub.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector {
    terms: Vec<(String, String)>,
}
impl FieldSelector {
    /// Stub.
    pub fn parse(_res: &ResourceDef, s: &str) -> Result<Self, ApiError> {
        Ok(Self {
            terms: s
                .split(',')
                .filter(|t| !t.is_empty())
                .filter_map(|t| {
                    t.split_once('=')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                })
                .collect(),
        })
    }
    /// Stub.
    pub fn matches(&self, o: &serde_json::Value) -> bool {
        self.terms.iter().all(|(k, v)| {
            let mut cur = o;
            for p in k.split('.') {
                cur = &cur[p];
            }
            cur.as_str().unwrap_or("") == v
        })
    }
    /// Stub.
    pub fn required(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    }
}
