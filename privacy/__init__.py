"""Privacy rules, declared once: the data map, and everything derived from it.

No Teams or Graph I/O here; the only dependency is `storage`.
"""
