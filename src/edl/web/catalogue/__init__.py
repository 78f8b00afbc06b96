"""Message catalogues, one module per group of pages, merged by `edl.web.i18n` (a key may be defined once)."""
