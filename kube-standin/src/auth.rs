//! TODO(auth)
