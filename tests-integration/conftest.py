from __future__ import annotations

import os

# pywatt-broken is installed in this session on purpose; every test but the ones about it
# runs with it blocked, as a user who hit its error would.
os.environ.setdefault("PYWATT_DISABLED_PLUGINS", "broken")
