"""The development SMS sender: the text in the log with number and codes masked, the last 50 kept for the dev inbox."""

from __future__ import annotations

import structlog

from edl.accounts import LogSmsSender


def test_each_text_is_logged_with_the_number_and_every_code_masked() -> None:
    with structlog.testing.capture_logs() as logs:
        LogSmsSender(dev_inbox=False).send("13800138000", "code 123456, valid 5 minutes, ref 2026")
    assert logs == [
        {
            "event": "sms_sent",
            "mobile": "*******8000",
            "text": "code ******, valid 5 minutes, ref ****",
            "log_level": "info",
        }
    ]


def test_a_licence_tail_with_its_check_character_is_masked_like_any_other() -> None:
    with structlog.testing.capture_logs() as logs:
        LogSmsSender(dev_inbox=False).send("13800138000", "您的驾驶证（证号尾号598X）已绑定 / licence …598x, ref 2026")
    assert logs[0]["text"] == "您的驾驶证（证号尾号****）已绑定 / licence …****, ref ****"


def test_the_demo_sender_keeps_the_code_for_the_inbox_but_not_in_the_log() -> None:
    sender = LogSmsSender(dev_inbox=True)
    with structlog.testing.capture_logs() as logs:
        sender.send("13800138000", "code 123456")
    assert "123456" not in repr(logs)
    last = sender.last_to("13800138000")
    assert last is not None and last.text == "code 123456"


def test_without_the_dev_inbox_nothing_is_kept() -> None:
    sender = LogSmsSender(dev_inbox=False)
    sender.send("13800138000", "code 123456")
    assert sender.messages == [] and sender.last_to("13800138000") is None


def test_the_dev_inbox_keeps_the_last_fifty_newest_first() -> None:
    sender = LogSmsSender(dev_inbox=True)
    for i in range(60):
        sender.send(f"138{i:08d}", f"text {i}")
    kept = sender.messages
    assert len(kept) == 50 and kept[0].text == "text 59" and kept[-1].text == "text 10"
    last = sender.last_to("13800000042")
    assert last is not None and last.text == "text 42"
