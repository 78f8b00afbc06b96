"""Page texts of the review pages: key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # header, navigation, footer
    "review.brand": ("电子驾驶证审核工作台", "eDL review console"),
    "review.brand_tag": ("交警部门工作人员", "Traffic police staff"),
    "review.nav_label": ("审核工作台导航", "Review console"),
    "review.nav_queue": ("待审核", "Queue"),
    "review.nav_registry": ("登记库查询", "Registry"),
    "review.flags_title": (
        "请人工核对：自动检查无法判断以下几点",
        "Check by eye: the automatic checks could not judge these",
    ),
    "review.nav_overdue": ("已超期", "Overdue"),
    "review.nav_staff": ("工作人员管理", "Staff"),
    "review.footer_note": (
        "本工作台含个人信息，仅供授权工作人员在职责范围内使用；每次审核决定均记入审计日志。",
        "This console holds personal data and is for authorised staff within their duties; every decision is "
        "recorded in the audit log.",
    ),
    # queue
    "review.queue_title": ("待审核申请", "Applications to review"),
    "review.overdue_title": ("超期未审核的申请", "Overdue applications"),
    "review.counts_label": ("审核数量", "Queue counts"),
    "review.count_pending": ("待审核", "waiting for review"),
    "review.count_overdue": ("已超过审核期限", "past their deadline"),
    "review.show_overdue": ("查看超期申请", "Show overdue"),
    "review.queue_hint": (
        "按审核截止时间排列，最早到期的在最前。须在提交后1个工作日内审核完毕。时间均为北京时间。",
        "Ordered by review deadline, the earliest first. Each must be reviewed within one working day of "
        "submission. Times are Beijing time.",
    ),
    "review.overdue_hint": (
        "只列出已超过审核期限的申请，最早到期的在最前。请尽快安排审核。时间均为北京时间。",
        "Only applications past their review deadline, the earliest first: arrange their review now. "
        "Times are Beijing time.",
    ),
    "review.col_deadline": ("审核截止", "Deadline"),
    "review.col_holder": ("持证人", "Holder"),
    "review.col_number": ("证号", "Licence number"),
    "review.col_kind": ("照片来源", "Photo"),
    "review.col_submitted": ("提交时间", "Submitted"),
    "review.col_action": ("操作", "Action"),
    "review.open": ("审核", "Review"),
    "review.limited": ("只显示最早到期的 {limit} 件。", "Only the {limit} earliest deadlines are shown."),
    "review.queue_empty": ("目前没有待审核的申请。", "There are no applications waiting for review."),
    "review.overdue_empty": ("没有超期的申请。", "No application is past its deadline."),
    "review.done_approved": (
        "已通过{name}的申请：电子驾驶证已发放，并已通知持证人。",
        "Approved the application of {name}: the e-licence is issued and the holder has been told.",
    ),
    "review.done_rejected": (
        "已退回{name}的申请，并已将原因通知持证人。",
        "Rejected the application of {name}; the holder has been told why.",
    ),
    "review.kind_camera": ("拍摄照片", "camera photo"),
    "review.kind_album": ("相册证件照", "ID photo from the album"),
    "review.kind_stored": ("存档照片", "stored photo"),
    "review.kind_photo_change": ("更换照片", "photo change"),
    "review.due_minutes": ("还剩 {n} 分钟", "due in {n} min"),
    "review.due_hours": ("还剩 {n} 小时", "due in {n} h"),
    "review.due_days": ("还剩 {n} 天", "due in {n} {n:plural:day|days}"),
    "review.overdue_minutes": ("已超期 {n} 分钟", "overdue by {n} min"),
    "review.overdue_hours": ("已超期 {n} 小时", "overdue by {n} h"),
    "review.overdue_days": ("已超期 {n} 天", "overdue by {n} {n:plural:day|days}"),
    # one application
    "review.item_title": ("照片审核", "Photo review"),
    "review.back_to_queue": ("返回审核队列", "Back to the queue"),
    "review.overdue_badge": ("已超期", "overdue"),
    "review.refused_title": ("未能提交审核决定", "The decision was not recorded"),
    "review.compare_title": ("照片比对", "Compare the photos"),
    "review.compare_hint": (
        "请核对两张照片是否为同一人，并检查机器无法判断的要求：制式服装、浓妆、美颜修饰、遮挡、不当标记。",
        "Check that both photos show the same person, and what a machine cannot judge: uniform, heavy make-up, "
        "retouching, anything covering the face, offensive marks.",
    ),
    "review.photo_submitted": ("提交的照片", "Submitted photo"),
    "review.photo_submitted_alt": ("持证人提交审核的照片", "The photo the holder submitted for review"),
    "review.photo_registry": ("登记库照片", "Registry photo"),
    "review.photo_registry_alt": ("登记库中持证人的存档照片", "The holder's photo stored in the registry"),
    "review.face_title": ("实人认证结果", "Real-person authentication"),
    "review.face_passed": (
        "通过：活体检测通过，本人与登记库照片一致",
        "Passed: a live person, matching the registry photo",
    ),
    "review.confirm_approve": (
        "我已核对两张照片为同一人，确认通过并签发电子驾驶证",
        "I have checked that both photos show the same person: approve and issue the e-licence",
    ),
    "review.confirm_reject": (
        "确认退回这份申请（持证人会收到退回原因）",
        "Reject this application (the holder is told the reason)",
    ),
    "review.confirm_required": (
        "请先勾选确认框，再提交审核结果。未作任何处理。",
        "Tick the confirmation box before submitting the decision. Nothing was done.",
    ),
    "review.face_not_compared": ("未比对（演示模式）", "Not compared (demo mode)"),
    "review.face_no_face": ("未通过：未检测到人脸", "Failed: no face found"),
    "review.face_several_faces": ("未通过：检测到多张人脸", "Failed: several faces found"),
    "review.face_mismatch": ("未通过：与登记库照片不一致", "Failed: does not match the registry photo"),
    "review.face_bad_image": ("未通过：无法读取照片", "Failed: the capture could not be read"),
    "review.face_no_reference": ("未通过：没有可比对的登记照片", "Failed: no registry photo to compare with"),
    "review.face_frames": ("未通过：画面采集不完整", "Failed: incomplete capture"),
    "review.face_not_frontal": ("未通过：开始时未正对屏幕", "Failed: not facing the screen at the start"),
    "review.face_action": ("未通过：未按提示完成动作", "Failed: actions not done as prompted"),
    "review.face_flat": ("未通过：疑似照片或屏幕", "Failed: looks like a photo or a screen"),
    "review.face_replay": ("未通过：与已有照片或以前的画面相同", "Failed: repeats a photo or earlier frames"),
    "review.face_provider": ("核验方式", "Provider"),
    "review.face_distance": ("特征距离", "Descriptor distance"),
    "review.face_distance_value": (
        "{distance}（不超过 {threshold} 视为同一人，越小越相似）",
        "{distance} (at most {threshold} counts as the same person; smaller is closer)",
    ),
    "review.face_no_distance": ("未记录", "not recorded"),
    "review.face_at": ("认证时间", "Checked at"),
    "review.face_lenient": (
        "演示模式的宽松核验，没有比对人脸：请仔细人工核对两张照片。",
        "Lenient demo check: faces were not compared. Compare the two photos carefully yourself.",
    ),
    "review.face_none": (
        "没有找到本次申请前的实人认证记录，请谨慎核对两张照片。",
        "No real-person authentication was found before this application: compare the photos carefully.",
    ),
    "review.application_title": ("申请信息", "Application"),
    "review.application_id": ("申请编号", "Application ID"),
    "review.decided_at": ("审核时间 · 审核人", "Decided · by"),
    "review.licence_title": ("驾驶证信息", "Licence"),
    "review.not_eligible": (
        "此驾驶证目前不能发放电子驾驶证，不能通过，请选择原因退回：",
        "This licence cannot get an e-licence now, so it cannot be approved. Reject it with a reason:",
    ),
    # automatic checks
    "review.checks_title": ("自动检测结果", "Automatic checks"),
    "review.checks_hint": (
        "提交时各项自动检测均已通过。下表为测得的数值及其要求。",
        "The photo passed every automatic check when it was submitted. Below: what was measured, and the rule.",
    ),
    "review.checks_none": ("没有记录自动检测结果。", "No automatic check results were recorded."),
    "review.check_col": ("检测项目", "Check"),
    "review.check_measured": ("测得数值", "Measured"),
    "review.check_rule": ("要求", "Rule"),
    "review.check_format": ("格式与像素尺寸", "Format and size (pixels)"),
    "review.check_original": ("（原图 {size}）", "(original {size})"),
    "review.check_colour": ("彩色程度", "Colour"),
    "review.check_faces": ("人脸数量", "Faces found"),
    "review.check_face_size": ("脸宽占照片宽度", "Face width (of the photo width)"),
    "review.check_face_position": ("脸部中心位置", "Face centre"),
    "review.check_face_brightness": ("脸部亮度（0–255）", "Face brightness (0–255)"),
    "review.check_lighting": ("脸部左右亮度差", "Left/right lighting difference"),
    "review.check_background": ("背景亮度（0–255）", "Background brightness (0–255)"),
    "review.check_background_colour": ("背景色彩饱和度", "Background saturation"),
    "review.check_background_plain": ("背景均匀度（标准差）", "Background plainness (std. dev.)"),
    "review.check_sharpness": ("清晰度", "Sharpness"),
    "review.check_processing": ("自动处理", "Processing"),
    "review.value_position": ("横向 {x}，纵向 {y}", "across {x}, down {y}"),
    "review.value_left_right": ("（左 {left}，右 {right}）", "(left {left}, right {right})"),
    "review.rule_format": (
        "JPEG 或 PNG，竖幅，至少 {width}×{height}",
        "JPEG or PNG, portrait, at least {width}×{height}",
    ),
    "review.rule_one_face": ("恰好1张", "exactly 1"),
    "review.rule_at_least": ("不低于 {value}", "at least {value}"),
    "review.rule_at_most": ("不超过 {value}", "at most {value}"),
    "review.rule_between": ("{low} 至 {high}", "{low} to {high}"),
    "review.rule_face_position": (
        "横向 {x_low} 至 {x_high}，纵向 {y_low} 至 {y_high}",
        "across {x_low} to {x_high}, down {y_low} to {y_high}",
    ),
    "review.note_rotated": ("已按拍摄方向转正", "turned upright (camera orientation)"),
    "review.note_profile": ("色彩已转换为 sRGB", "colours converted to sRGB"),
    "review.note_transparency": ("透明背景已填充为白色", "transparent background filled with white"),
    # decision
    "review.decision_title": ("审核决定", "Decision"),
    "review.approve": ("通过，发放电子驾驶证", "Approve and issue the e-licence"),
    "review.approve_hint": (
        "通过后立即以这张照片签发电子驾驶证，并通知持证人。",
        "Approving issues the e-licence with this photo at once and tells the holder.",
    ),
    "review.approve_blocked": (
        "此驾驶证目前不能发放电子驾驶证（见上方原因）。",
        "This licence cannot get an e-licence now (see the reasons above).",
    ),
    "review.reason_title": ("退回原因", "Reason for rejection"),
    "review.note_label": ("审核说明（将发送给持证人）", "Note to the holder"),
    "review.note_label_short": ("审核说明", "Note"),
    "review.note_hint": (
        "选择“其他原因”时必须填写，最多500字。请写明持证人应如何重新拍摄。",
        "Required with “Another reason”; at most 500 characters. Say how the holder should retake the photo.",
    ),
    "review.reject": ("退回，请持证人重新提交", "Reject and ask for a new photo"),
    "review.bad_decision": ("请选择“通过”或“退回”。", "Choose Approve or Reject."),
    # refusals
    "review.forbidden_title": ("无权查看", "Not allowed"),
    "review.already_decided_title": ("该申请已被处理", "Already decided"),
    "review.decided_detail": (
        "审核人：{by}，时间：{at}，结果：{state}。",
        "Decided by {by} at {at}: {state}.",
    ),
    "review.open_application": ("查看该申请", "Open the application"),
    "review.by_holder": ("持证人本人", "the holder"),
    # issue 16: the sanction for malicious uploads (停止电子驾驶证申请使用)
    "sanction.nav": ("停止使用", "Sanctions"),
    "sanction.list_title": ("停止电子驾驶证申请使用", "Stopped e-licences (sanctions)"),
    "sanction.list_hint_supervisor": (
        "审核员在退回恶意上传的照片时提出停止，由本辖区另一位主管确认后生效：电子驾驶证显示为暂停使用，驾驶人不能再申请，"
        "纸质驾驶证状态不变。到期自动结束，或由主管解除。每一步均记入审计日志并通知驾驶人。",
        "A reviewer proposes a stop when rejecting a malicious upload; it takes effect when another supervisor of this "
        "authority confirms it: the e-licence answers as suspended, the driver cannot apply again, and the paper "
        "licence's status is unchanged. It ends by its term or when a supervisor lifts it. Every step is audited and "
        "the driver is told.",
    ),
    "sanction.list_hint_reviewer": (
        "您提出的停止需由主管确认后才生效；主管也可以解除。",
        "A stop you propose takes effect only when a supervisor confirms it; supervisors may also lift it.",
    ),
    "sanction.list_empty": ("没有待确认或执行中的停止。", "No proposed or running sanctions."),
    "sanction.reason": ("原因", "Reason"),
    "sanction.duration": ("停止期限", "Duration"),
    "sanction.duration_days": ("{n} 天", "{n} {n:plural:day|days}"),
    "sanction.duration_indefinite": ("直至主管解除", "Until a supervisor lifts it"),
    "sanction.until_lifted": ("直至解除", "until lifted"),
    "sanction.proposed": ("提出", "Proposed"),
    "sanction.confirmed": ("确认", "Confirmed"),
    "sanction.ends": ("到期时间", "Ends"),
    "sanction.confirm": ("确认停止", "Confirm the stop"),
    "sanction.confirm_box": (
        "我已核实照片属于恶意上传，确认停止该驾驶人的电子驾驶证申请和使用",
        "I checked that the upload is malicious and confirm stopping this driver's e-licence and applications",
    ),
    "sanction.decline": ("不予确认", "Decline"),
    "sanction.decline_note": ("说明（可选）", "Note (optional)"),
    "sanction.decline_box": ("确认不予停止", "I decline this proposal"),
    "sanction.own_proposal": (
        "这是您本人提出的停止，须由另一位主管确认。",
        "You proposed this stop: another supervisor must confirm it.",
    ),
    "sanction.lift": ("解除停止", "Lift the stop"),
    "sanction.lift_reason": (
        "解除原因（必填，如窗口申诉核实）",
        "Reason for lifting (required, e.g. appeal at the counter)",
    ),
    "sanction.lift_box": (
        "确认解除，驾驶人的电子驾驶证立即恢复使用",
        "Lift it: the driver's e-licence is valid again at once",
    ),
    "sanction.confirm_required": (
        "请勾选确认框后再提交。",
        "Tick the confirmation box before submitting.",
    ),
    "sanction.done_confirm": ("已确认，当前状态：{state}", "Confirmed; now {state}"),
    "sanction.done_decline": ("已处理，当前状态：{state}", "Done; now {state}"),
    "sanction.done_lift": ("已解除，当前状态：{state}", "Lifted; now {state}"),
    "sanction.back_to_list": ("返回停止使用列表", "Back to sanctions"),
    "sanction.abuse_tag": ("恶意上传", "abuse"),
    "sanction.propose_title": ("提出停止使用（恶意上传）", "Propose a stop (malicious upload)"),
    "sanction.propose_hint": (
        "仅限标有“恶意上传”的原因。提出后须由主管确认才生效；生效期间该驾驶人的电子驾驶证暂停使用，也不能再申请。",
        "Only with a reason marked “abuse”. It takes effect when a supervisor confirms it; while it runs the driver's "
        "e-licence is suspended and they cannot apply again.",
    ),
    "sanction.propose_box": (
        "同时提出停止该驾驶人的电子驾驶证申请和使用",
        "Also propose stopping this driver's e-licence",
    ),
}
