"""Developer tools: tools/rename_imports.py (the one-package rename), tools/typecheck.py."""
