"""The console for the authority's staff (/review/..., /registry/...): sign-in, the review queue, the registry, staff
accounts and relying parties. Every page wears the console chrome (`templates/staff/_base.html`, with navigation
from `templates/staff/_console.html` once signed in)."""
