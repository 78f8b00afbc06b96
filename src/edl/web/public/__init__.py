"""Pages and endpoints with no audience: the front door (/), the language switch, health, the published status list
and trust bundle, and the relying-party API's documentation."""
