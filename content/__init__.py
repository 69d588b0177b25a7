"""Decks: the card model, the recap parser, the YAML format, lint and export."""
