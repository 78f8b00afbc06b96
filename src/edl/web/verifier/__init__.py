"""What relying parties use: the verifier page (/verify/...) in its own chrome, and the verification API
(/api/v1/verifications)."""
