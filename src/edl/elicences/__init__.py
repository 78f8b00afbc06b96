"""E-licences (电子驾驶证): issuing the ISO/IEC 18013-5 credential for a registry licence, and its lifecycle."""
