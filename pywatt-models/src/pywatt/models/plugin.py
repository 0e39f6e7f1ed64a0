"""pywatt-models's plugin module.

It implements no hooks yet: its components register here as they are built, and an empty
plugin is better than a placeholder that fails when used.
"""

from __future__ import annotations
