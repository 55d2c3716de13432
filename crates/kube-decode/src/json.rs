//! JSON read with every object member kept (pure). Implemented in the next commit.
