"""Attack tests that stay: each replays a finding of issue 10 (see docs/security.md)."""
