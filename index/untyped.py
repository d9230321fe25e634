"""FAISS as this package uses it, untyped.

faiss-cpu ships stubs for its SWIG layer (C++ pointers, IDSelector objects, int
sizes), not for the numpy wrappers it installs over that layer and that this code
calls (`remove_ids(array)`, `IDSelectorBitmap(array)`, `SearchParametersHNSW`), so
type checking against them reports errors in correct calls.
"""

from typing import Any

import faiss as _faiss

faiss: Any = _faiss
