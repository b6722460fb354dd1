"""Who may do what with channel preferences (django-rules).

The preferences belong to their party: whoever may see the party sees them
(``core.view_record`` on the party), whoever may change it changes them
(``core.change_record``). Nothing of their own is added here; the views, API and services
check the party's permissions.
"""

from __future__ import annotations

VIEW = "core.view_record"
CHANGE = "core.change_record"
