"""Registry events: the changes a licence undergoes after import, and which of them void an e-licence."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    STATUS_SET = "status_set"  # 状态设置 (e.g. 暂扣)
    STATUS_CLEARED = "status_cleared"  # 状态解除
    CLASSES_CHANGED = "classes_changed"  # 准驾车型变更 (增驾, 降级)
    RENEWED = "renewed"  # 换证 / 新有效期
    AUTHORITY_CHANGED = "authority_changed"  # 发证机关变更 (转入)
    POINTS_ADDED = "points_added"  # 记分
    ADDRESS_CHANGED = "address_changed"  # 住址变更
    PHOTO_CHANGED = "photo_changed"  # 新的存档照片
    RECORD_CORRECTED = "record_corrected"  # 其他登记信息更正 (姓名, 档案编号, 记分重算 … by a re-import)

    @property
    def voids_elicence(self) -> bool:
        """A new card (class, validity or authority change) voids the e-licence: the holder must re-apply."""
        return self in VOIDING

    @property
    def refreshes_elicence(self) -> bool:
        """Shown at once on the e-licence pages (status, points, address), without re-applying."""
        return not self.voids_elicence


VOIDING = frozenset({EventKind.CLASSES_CHANGED, EventKind.RENEWED, EventKind.AUTHORITY_CHANGED})
