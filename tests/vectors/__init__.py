"""Test vectors from /work/shared/vectors (the `shared` folder beside the repository root)."""
