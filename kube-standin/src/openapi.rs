//! TODO(openapi)
