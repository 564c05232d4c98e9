"""Not imported: this directory is put on Lambda sandboxes' PYTHONPATH for its sitecustomize.py
(a package only so that packaging includes it)."""
