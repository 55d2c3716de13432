//! Tests of the policy engine and the shipped policies.

use super::*;
