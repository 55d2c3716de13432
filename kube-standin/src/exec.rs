//! TODO(exec)
