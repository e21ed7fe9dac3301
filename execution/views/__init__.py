"""Execution pages: the station list, the station terminal and its actions, refused scans."""
