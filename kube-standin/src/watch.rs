//! TODO(watch)
