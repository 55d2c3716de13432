//! TODO(selectors)
