"""Persistent stores of one index: the SQLite catalog and the Chroma vectors."""
