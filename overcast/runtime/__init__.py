"""Lambda execution: the Runtime API (api.py), sandboxes (sandbox.py) and their pools (pool.py)."""
