"""Page texts of the holder pages (the driver's app): key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # layout
    "holder.app_name": ("电子驾驶证", "E-licence"),
    "holder.nav_label": ("主要页面", "Main pages"),
    "holder.nav_home": ("首页", "Home"),
    "holder.nav_licence": ("我的驾驶证", "My licence"),
    "holder.nav_applications": ("办理进度", "Progress"),
    "holder.footer_note": (
        "电子驾驶证与纸质驾驶证具有同等法律效力。请勿将账号借给他人使用。",
        "The e-licence has the same legal force as the card. Do not let anyone else use your account.",
    ),
    "holder.back_home": ("返回首页", "Back to home"),
    "holder.continue": ("继续", "Continue"),
    # home
    "holder.home_title": ("首页", "Home"),
    "holder.points_unit": ("/{limit} 分", "/{limit} pts"),
    "holder.my_elicence": ("我的电子驾驶证", "My e-licence"),
    "holder.elicence_generated": ("生成时间 {at}（北京时间）", "Generated {at} (Beijing time)"),
    "holder.notice_open_inbox": ("查看消息", "Open messages"),
    "holder.no_licence": (
        "登记库中已没有您绑定的驾驶证。请到车辆管理所咨询。",
        "The registry no longer holds the licence bound to this account. Ask at a vehicle administration office.",
    ),
    "holder.pending_title": ("审核中的申请", "Application in review"),
    "holder.pending_due": ("交警部门将在 {at}（北京时间）前完成审核。", "Staff will decide by {at} (Beijing time)."),
    "holder.pending_open": ("查看办理进度", "See its progress"),
    "holder.rejected_title": ("照片审核未通过", "Photo not approved"),
    "holder.reject_note": ("审核说明：{note}", "Reviewer's note: {note}"),
    "holder.resubmit": ("重新提交照片", "Submit a new photo"),
    "holder.not_eligible_title": ("暂不能申领电子驾驶证", "You cannot apply for an e-licence now"),
    "holder.not_eligible_intro": ("原因及办理方法：", "Why, and what to do:"),
    "holder.apply_title": ("申领电子驾驶证", "Apply for the e-licence"),
    "holder.eligible": ("您的驾驶证可以申领电子驾驶证。", "Your licence may have an e-licence."),
    "holder.option_stored": ("使用存档照片申领", "Use my stored photo"),
    "holder.option_stored_hint": (
        "登记库中有您符合要求的照片，实人认证后立即生成电子驾驶证。",
        "The registry holds a compliant photo of you: the e-licence is made at once after authentication.",
    ),
    "holder.option_or": ("或者提交新照片（需审核）：", "Or submit a new photo (reviewed):"),
    "holder.option_camera": ("拍摄照片", "Take a photo"),
    "holder.option_camera_hint": (
        "请他人用手机为您拍摄，1个工作日内审核。",
        "Ask someone to take it with a phone; reviewed within one working day.",
    ),
    "holder.option_album": ("从相册选择证件照", "Choose an ID photo from the album"),
    "holder.option_album_hint": (
        "选择白底彩色证件照，1个工作日内审核。",
        "Choose a colour ID photo on white; reviewed within one working day.",
    ),
    "holder.apply_face_hint": (
        "申领前需要完成实人认证（刷脸）。",
        "Real-person authentication (a face check) comes first.",
    ),
    "holder.change_photo_title": ("更换照片", "Change the photo"),
    "holder.change_photo_hint": (
        "新照片审核通过后电子驾驶证随之更新；审核期间原电子驾驶证照常使用。",
        "Once the new photo is approved your e-licence is updated; until then the current one stays valid.",
    ),
    "holder.change_photo_button": ("更换照片", "Change the photo"),
    "holder.change_photo_unavailable": (
        "驾驶证当前状态不允许更换照片。",
        "The photo cannot be changed while the licence is in its current state.",
    ),
    # binding
    "holder.bind_title": ("绑定驾驶证", "Bind your driving licence"),
    "holder.bind_intro": (
        "输入驾驶证上的证号和姓名，并完成实人认证，即可在本账号下查看和申领电子驾驶证。"
        "须使用驾驶证的登记手机号登录；号码有变化的，请先到车辆管理所办理窗口更新。",
        "Enter the number and name on your licence and pass real-person authentication to use the e-licence "
        "service with this account. You must be signed in with the licence's registered mobile number; if it has "
        "changed, update it at a vehicle administration office counter first.",
    ),
    "holder.bind_number": ("证号（身份证号码）", "Licence number (ID number)"),
    "holder.bind_number_hint": ("18位，最后一位可能是 X。", "18 characters; the last may be X."),
    "holder.bind_name": ("姓名", "Name"),
    "holder.bind_face_intro": (
        "由驾驶人本人面对摄像头，按提示完成转头、眨眼等动作，系统与登记库中的照片比对。",
        "The licence holder faces the camera and turns or blinks as prompted; the face is compared with the photo "
        "on the licence record.",
    ),
    "holder.bind_submit": ("认证并绑定", "Authenticate and bind"),
    "holder.bind_fields_missing": ("请填写证号和姓名。", "Enter the licence number and the name."),
    # real-person authentication
    "holder.face_title": ("实人认证", "Real-person authentication"),
    "holder.face_intro": (
        "请驾驶人本人面对摄像头，按提示完成转头、眨眼等动作，系统将与驾驶证档案照片比对。",
        "The licence holder faces the camera and turns or blinks as prompted; the face is compared with the photo "
        "on the licence record.",
    ),
    "holder.verifier_label": ("核验方式：", "Verifier:"),
    "holder.verifier_lenient": (
        "注意：当前为演示环境，核验方式宽松，不会真正比对人脸。",
        "Note: this is a demo with a lenient verifier; faces are not really compared.",
    ),
    "holder.face_unavailable": ("实人认证暂不可用", "Real-person authentication is unavailable"),
    "holder.face_unavailable_detail": (
        "实人认证服务暂不可用，请稍后再试或到车辆管理所办理。",
        "Real-person authentication is not available now. Try later, or visit a vehicle administration office.",
    ),
    "holder.attempts_left": ("今日还可认证 {count} 次。", "{count} {count:plural:attempt|attempts} left today."),
    "holder.attempts_none": (
        "今日实人认证次数已用完，请明天再试。",
        "You have used today's real-person authentication attempts. Try again tomorrow.",
    ),
    "holder.face_fresh": (
        "您已通过实人认证，可以继续办理。",
        "You have passed real-person authentication and may continue.",
    ),
    "holder.face_submit": ("上传并认证", "Upload and authenticate"),
    "holder.face_passed": ("认证通过", "Authentication passed"),
    "holder.face_failed": ("认证未通过", "Authentication failed"),
    "holder.face_no_face": ("未检测到人脸", "No face found"),
    "holder.face_several": ("检测到多张人脸", "More than one face"),
    "holder.face_mismatch": ("人脸与档案照片不一致", "The face does not match the record"),
    "holder.face_bad_image": ("照片无法读取", "The picture cannot be read"),
    "holder.face_no_reference": ("没有可比对的档案照片", "No record photo to compare with"),
    "holder.face_frames": ("画面采集不完整", "The capture was incomplete"),
    "holder.face_not_frontal": ("开始时未正对屏幕", "You were not facing the screen at the start"),
    "holder.face_action": ("未按提示完成动作", "The actions were not done as prompted"),
    "holder.face_flat": ("未能确认是真人", "Could not confirm a live person"),
    "holder.face_replay": ("画面与已有照片或录像相同", "The frames repeat an existing photo or recording"),
    "holder.liveness_start": ("开始认证", "Start"),
    "holder.liveness_missing": (
        "实人认证只接受摄像头现场采集的画面，不能上传照片。请点击“开始认证”，按提示完成动作。",
        "Real-person authentication takes live camera frames only; a photo cannot be uploaded. Tap Start and follow "
        "the prompts.",
    ),
    "holder.liveness_retry": ("重新认证", "Try again"),
    "holder.liveness_starting": ("正在打开摄像头…", "Opening the camera…"),
    "holder.liveness_settle": ("请正对屏幕，保持不动", "Look straight at the screen and hold still"),
    "holder.liveness_checking": ("正在认证，请稍候…", "Checking, please wait…"),
    "holder.liveness_step_start": (
        "点击“开始认证”，允许使用摄像头，脸部保持在取景框内。",
        "Tap Start, allow the camera, and keep your face inside the frame.",
    ),
    "holder.liveness_step_follow": (
        "按屏幕提示依次转头或眨眼，约 3–5 秒。",
        "Turn your head or blink as each prompt says; it takes 3–5 seconds.",
    ),
    "holder.liveness_step_wait": ("稍候片刻，系统自动完成认证。", "Wait a moment while the check completes."),
    "holder.liveness_unsupported": (
        "实人认证需要使用摄像头：请在手机浏览器中打开本页，并允许使用摄像头（不能上传照片代替）。",
        "Real-person authentication needs the camera: open this page in a phone browser and allow the camera "
        "(a photo cannot be uploaded instead).",
    ),
    "holder.face_tips_title": ("拍摄提示", "Tips"),
    "holder.face_tip_light": ("在光线充足处，面向光源。", "Stand in good light, facing it."),
    "holder.face_tip_alone": ("画面中只能有您一人。", "Only you may be in the picture."),
    "holder.face_tip_front": ("正对镜头，摘下帽子和口罩。", "Face the lens; take off any hat or mask."),
    # capture (camera.js reads the camera_* and upload_* texts from data attributes)
    "holder.capture_live_label": ("或选择 / 拍摄一张照片上传", "Or take / choose a picture to upload"),
    "holder.file_fallback_hint": (
        "手机浏览器会直接打开前置相机。",
        "On a phone this opens the camera.",
    ),
    "holder.capture_missing": ("没有收到照片，请拍摄后再提交。", "No picture was received: take one and submit again."),
    "holder.camera_start": ("打开相机", "Open the camera"),
    "holder.camera_shoot": ("拍照", "Take the picture"),
    "holder.camera_retake": ("重拍", "Retake"),
    "holder.camera_starting": ("正在打开相机…", "Opening the camera…"),
    "holder.camera_ready": ("请正对镜头，准备好后点“拍照”。", "Face the lens and press “Take the picture”."),
    "holder.camera_captured": ("已拍好。满意请上传，否则重拍。", "Done. Upload it if it looks right, or retake."),
    "holder.camera_denied": (
        "无法使用相机（未授权或没有相机）。请用下方的选择文件上传。",
        "The camera cannot be used (no permission or no camera). Upload a file below instead.",
    ),
    "holder.uploading": ("正在上传…", "Uploading…"),
    "holder.upload_network": ("上传失败，请检查网络后重试。", "The upload failed: check the connection and retry."),
    "holder.upload_too_large": (
        "文件太大（最多 {limit_mb} MB），未保存任何内容。请以较小尺寸保存后重新上传。",
        "The file is too large (at most {limit_mb} MB); nothing was stored. Save it smaller and upload again.",
    ),
    # applying
    "holder.apply_blocked": ("暂不能办理：", "This cannot be done now:"),
    "holder.apply_pending": (
        "您有一份申请正在审核中，请等待审核结果或撤回后再提交。",
        "You already have an application in review: wait for the decision or withdraw it first.",
    ),
    "holder.stored_unusable": (
        "登记库中没有符合要求的存档照片，请拍摄照片或从相册选择证件照。",
        "The registry holds no compliant photo of you: take a photo or choose an ID photo.",
    ),
    "holder.stored_title": ("使用存档照片申领", "Apply with the stored photo"),
    "holder.stored_intro": (
        "电子驾驶证将使用下面这张登记库中的照片，确认后立即生成。",
        "Your e-licence will use this photo from the registry; it is made as soon as you confirm.",
    ),
    "holder.stored_photo_alt": ("登记库中的存档照片", "The stored photo in the registry"),
    "holder.stored_confirm": ("确认并生成电子驾驶证", "Confirm and make my e-licence"),
    "holder.stored_other": (
        "不想使用这张照片？返回首页选择拍摄照片或从相册选择。",
        "Prefer another photo? Go back and take one or choose one from the album.",
    ),
    "holder.photo_title": ("提交照片申领", "Apply with a new photo"),
    "holder.photo_title_change": ("提交新照片", "Submit a new photo"),
    "holder.photo_source_label": ("照片来源", "Photo source"),
    "holder.rules_title": ("照片要求", "Photo rules"),
    "holder.rule_background": (
        "白色背景，光线均匀；坐姿端正，双肩平齐，表情自然，双眼平视镜头。",
        "White background, even light; sit straight, shoulders level, natural expression, eyes on the lens.",
    ),
    "holder.rule_clothes": (
        "穿深色便服，不戴帽子；头发不遮挡面部和耳朵；不化浓妆；不穿制式服装；不戴口罩、围巾、饰品。",
        "Dark everyday clothes, no hat; hair off the face and ears; no heavy make-up; no uniform; no mask, scarf "
        "or jewellery.",
    ),
    "holder.rule_retouch": ("不得使用美颜或过度修饰。", "No beautifying filters or heavy retouching."),
    "holder.rule_marks": (
        "不得含有有违公序良俗的标记、数字、字母或文字。",
        "No marks, numbers, letters or text that offend public order or decency.",
    ),
    "holder.rule_format": (
        "JPEG 或 PNG 彩色竖幅照片，至少 358×441 像素，不超过 {max_mb} MB。",
        "A colour portrait JPEG or PNG, at least 358×441 pixels, at most {max_mb} MB.",
    ),
    "holder.rule_helper": (
        "请他人为您拍摄，手机竖拿，与您平视，距离约1米。",
        "Ask someone to take it: phone upright, at your eye level, about 1 m away.",
    ),
    "holder.photo_camera_label": ("或用相机拍摄 / 选择照片上传", "Or take / choose a photo to upload"),
    "holder.photo_album_label": ("选择证件照（JPEG 或 PNG）", "Choose an ID photo (JPEG or PNG)"),
    "holder.photo_submit": ("提交审核", "Submit for review"),
    "holder.photo_missing": ("没有收到照片文件，请选择照片后再提交。", "No photo was received: choose one and submit."),
    "holder.photo_review_hint": (
        "照片通过自动检测后交警部门在1个工作日内审核，结果会通过消息通知您。",
        "After the automatic checks, staff review the photo within one working day; you will get a message.",
    ),
    # results and tracking
    "holder.issued_title": ("电子驾驶证申领成功", "Your e-licence is ready"),
    "holder.issued_body": (
        "电子驾驶证已生成，与纸质驾驶证具有同等法律效力。",
        "Your e-licence has been made; it has the same legal force as the card.",
    ),
    "holder.submitted_title": ("照片已提交", "Photo submitted"),
    "holder.submitted_body": (
        "照片已通过自动检测。交警部门将在1个工作日内、{at}（北京时间）前完成审核。",
        "The photo passed the automatic checks. Staff will review it within one working day, by {at} (Beijing time).",
    ),
    "holder.track_title": ("办理进度", "Application progress"),
    "holder.track_empty": ("还没有申请记录。", "No applications yet."),
    "holder.track_rejected_hint": (
        "您最近提交的照片未通过审核，可以按要求重新提交。",
        "Your latest photo was not approved; you may submit a new one that meets the rules.",
    ),
    "holder.app_title": ("申请详情", "Application"),
    "holder.app_kind": ("办理方式", "Kind"),
    "holder.app_photo_change": ("更换照片", "photo change"),
    "holder.app_state": ("状态", "State"),
    "holder.app_submitted": ("提交时间", "Submitted"),
    "holder.app_due": ("审核期限", "Review by"),
    "holder.app_decided": ("办结时间", "Decided"),
    "holder.app_reason": ("未通过原因", "Reason"),
    "holder.app_note": ("审核说明", "Reviewer's note"),
    "holder.app_photo_alt": ("本次提交的照片", "The photo submitted"),
    "holder.kind_stored": ("使用存档照片", "stored photo"),
    "holder.kind_camera": ("拍摄照片", "camera photo"),
    "holder.kind_album": ("相册证件照", "album ID photo"),
    "holder.withdraw": ("撤回申请", "Withdraw"),
    "holder.unbind_title": ("解除绑定", "Unbind this licence"),
    "holder.unbind_hint": (
        "解除后此账号不再关联该驾驶证，电子驾驶证随即失效；登记手机号会收到短信。",
        "This account will no longer hold the licence and the e-licence becomes void; the registered mobile is texted.",
    ),
    "holder.unbind": ("解除绑定", "Unbind"),
    # the e-licence
    "holder.card_title": ("机动车驾驶证电子版", "Electronic driving licence"),
    "holder.card_front": ("正页", "Front page"),
    "holder.card_back": ("副页", "Secondary page"),
    "holder.card_pages_label": ("电子驾驶证页面", "E-licence pages"),
    "holder.card_qr": ("电子驾驶证二维码", "E-licence QR code"),
    "holder.card_live_hint": (
        "状态和记分为登记库实时信息。",
        "Status and points are live from the registry.",
    ),
    "holder.card_not_valid": ("驾驶证当前不能用于驾驶", "This licence is not valid for driving now"),
    "holder.card_not_valid_detail": (
        "驾驶证状态：{statuses}。请到车辆管理所处理后再驾驶机动车。",
        "Licence status: {statuses}. Settle it at a vehicle administration office before you drive.",
    ),
    "holder.card_none_title": ("您还没有有效的电子驾驶证", "You have no valid e-licence"),
    "holder.card_none_yet": ("您还没有申领电子驾驶证。", "You have not applied for an e-licence yet."),
    "holder.card_apply_again": ("请重新申领电子驾驶证。", "Please apply for a new e-licence."),
    "holder.card_voided_at": ("失效时间：{at}（北京时间）", "Void since {at} (Beijing time)"),
    "holder.card_go_apply": ("去申领", "Apply"),
    "holder.void_classes_changed": (
        "因准驾车型变更（换发新证），原电子驾驶证已失效。",
        "Your vehicle classes changed (a new card was issued), so the e-licence is void.",
    ),
    "holder.void_renewed": (
        "因驾驶证有效期变更（换证），原电子驾驶证已失效。",
        "Your licence was renewed, so the e-licence is void.",
    ),
    "holder.void_authority_changed": (
        "因发证机关变更，原电子驾驶证已失效。",
        "Your issuing authority changed, so the e-licence is void.",
    ),
    "holder.void_reissued": (
        "电子驾驶证已重新生成，原电子驾驶证已失效。",
        "The e-licence was made again, so the previous one is void.",
    ),
    "holder.void_other": (
        "驾驶证信息变更，原电子驾驶证已失效。",
        "Your licence record changed, so the e-licence is void.",
    ),
    # issue 16: the e-licence stopped by a sanction (停止电子驾驶证申请使用)
    "holder.stop_title": ("电子驾驶证已停止使用", "Your e-licence is stopped"),
    "holder.stop_intro": (
        "因上传的照片违反规定，交警部门已停止您的电子驾驶证申请和使用。停止期间电子驾驶证核验显示为暂停使用，"
        "也不能提交新的申请。您的纸质驾驶证状态不受影响。",
        "Because of the photos you uploaded, the traffic police stopped your e-licence and your applications. While "
        "the stop runs your e-licence is checked as suspended and you cannot apply again. Your paper licence's "
        "status is not affected.",
    ),
    "holder.stop_reason": ("原因", "Reason"),
    "holder.stop_note": ("审核说明", "Reviewer's note"),
    "holder.stop_until": ("期限", "Until"),
    "holder.stop_appeal": (
        "如有异议，请携带身份证到车管所业务窗口申请复核。",
        "To appeal, bring your ID card to a counter of a vehicle administration office.",
    ),
    "holder.stop_home": ("返回首页", "Back to home"),
}
