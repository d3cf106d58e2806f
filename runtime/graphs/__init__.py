"""The pure campaign-graph core: schema, catalog, validation, compiler, diff, merge fields, timers.

Invariant: nothing here touches a database, the network, files or Flask
(Flask's sansio rule); `tests/test_layering.py` enforces it.
"""
