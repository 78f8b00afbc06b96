"""The driver's application (申领): real-person authentication, photo checks, review, issuance."""
