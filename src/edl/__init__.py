"""eDL: electronic driving licences (电子驾驶证) on ISO/IEC 18013-5."""

__version__ = "0.1.0"
