//! TODO(table)
