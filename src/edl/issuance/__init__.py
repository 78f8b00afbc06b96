"""The issuer side (签发): issuing e-licences, voiding them, publishing their status list and the trust bundle,
making live codes."""
