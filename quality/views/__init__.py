"""The quality app's browser pages: thin views over quality.services and quality.selectors."""
