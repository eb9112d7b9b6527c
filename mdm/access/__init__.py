"""Access: departments and purposes (:mod:`.departments`), grants and sharing requests (:mod:`.grants`), the
policy that decides what a caller sees (:mod:`.policy`) and the masking rules (:mod:`.masking`)."""

from mdm.access.masking import mask_value
from mdm.access.policy import GrantTerms, Projection, View, decide, require_any

__all__ = ["GrantTerms", "Projection", "View", "decide", "mask_value", "require_any"]
