"""Verification of e-licences by relying parties: purposes and their fields, offline and online checks."""
