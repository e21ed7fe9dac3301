"""Views of the alerts app: thin; they parse, call one service or selector, render."""
