//! Tests of RBAC matching, escalation messages and the bootstrap policy.
