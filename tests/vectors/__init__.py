"""Public test vectors kept in the repository (ISO/IEC 18013-5 Annex D in `annexd/`)."""
