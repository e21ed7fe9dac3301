"""Planning pages: thin views over planning.services and planning.selectors."""
