"""Who is who: agents and their permissions, contacts and their import."""
